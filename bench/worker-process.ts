/**
 * The product's worker (`dist/src/worker.js`, i.e. src/worker.ts) in its own process, configured entirely from
 * the environment as in production, so its memory and CPU can be measured apart from the gateway and the
 * simulator. Used by the scale phase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { processRssBytes } from './system';

export interface WorkerProcess {
  pid: number;
  /** VmRSS now. */
  rss(): number | undefined;
  /** VmHWM: the highest RSS of the process's life (the workflow bundling at start-up included). */
  peakRss(): number | undefined;
  /** SIGTERM (the worker shuts down gracefully), SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Compiled layout: this file is dist/bench/worker-process.js, the worker dist/src/worker.js. */
export const WORKER_ENTRY_POINT = path.join(__dirname, '..', 'src', 'worker.js');

/**
 * Starts the worker and resolves once it logged "worker started" (its workflow bundle built, its workers
 * created). `env` is its whole environment. stdout and stderr go to `logFile`.
 */
export async function startWorkerProcess(options: {
  env: NodeJS.ProcessEnv;
  logFile: string;
  readyTimeoutMs: number;
}): Promise<WorkerProcess> {
  const log = fs.createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, ['--require', path.join(__dirname, 'exit-with-parent.js'), WORKER_ENTRY_POINT], {
    env: options.env,
    // stdin: held open by us, see exit-with-parent.ts.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${WORKER_ENTRY_POINT}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr!.pipe(log, { end: false });
  let tail = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`worker not started within ${options.readyTimeoutMs} ms`)), options.readyTimeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(new Error(`worker exited (${signal ?? `exit code ${code}`}) before it started; see ${options.logFile}`));
    function fail(error: Error) {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(error);
    }
    child.once('exit', onExit);
    child.once('error', (error) => fail(error));
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      // src/worker.ts logs one JSON line {"msg":"worker started", ...} once its workers are created.
      if (/"msg":"worker started"/.test(tail)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        tail = '';
        resolve();
      }
    });
  });
  // From now on stdout only goes to the log.
  child.stdout!.removeAllListeners('data');
  child.stdout!.pipe(log, { end: false });
  return {
    pid,
    rss: () => processRssBytes(pid),
    peakRss: () => processRssBytes(pid, 'VmHWM'),
    async stop(graceMs = 45_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      child.stdin?.end();
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}

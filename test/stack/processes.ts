import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** A child process whose output goes to a log file; stop() ends it (SIGTERM, then SIGKILL after a grace period). */
export interface RunningProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { env: Record<string, string>; logFile: string; cwd?: string; uid?: number; gid?: number },
): RunningProcess {
  const fd = fs.openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd], uid: options.uid, gid: options.gid });
  } finally {
    fs.closeSync(fd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    name,
    child,
    logFile: options.logFile,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; throws with its output when it fails. Output is returned, never logged. */
export function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; uid?: number; gid?: number } = {},
): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: options.env, cwd: options.cwd, uid: options.uid, gid: options.gid });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

export function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value; fails with the last error and the process's log tail. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; process?: RunningProcess },
): Promise<T> {
  const until = Date.now() + options.timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    if (options.process && (options.process.child.exitCode !== null || options.process.child.signalCode !== null)) {
      throw new Error(
        `${options.process.name} exited while waiting for ${what}; log ${options.process.logFile}:\n${tail(options.process.logFile)}`,
      );
    }
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  const log = options.process ? `; log ${options.process.logFile}:\n${tail(options.process.logFile)}` : '';
  throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}${log}`);
}

/** Distinct free loopback ports. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Distinct free loopback ports below 32768: the Temporal server stores membership ports as a SQL smallint,
 * so the kernel's ephemeral range (above it) cannot be used there.
 */
export async function freeLowPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if (ports.has(candidate)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(candidate, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) ports.add(candidate);
  }
  return [...ports];
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

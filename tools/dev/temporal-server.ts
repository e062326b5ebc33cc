import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { cacheDir } from '../../src/doctor/dev-stack-record';
import { ALL_SEARCH_ATTRIBUTES, searchAttributeCliArgs } from '../../src/shared/search-attributes';
import { freePort } from './free-port';

export interface TemporalDevServerOptions {
  /** gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted (ignored when headless). */
  uiPort?: number;
  headless?: boolean;
  /** SQLite file that keeps history across restarts; in-memory when omitted. */
  dbFilename?: string;
  /** Namespace to create besides `default`; defaults to `default`. */
  namespace?: string;
  /** Address to bind; defaults to loopback so a dev server is never exposed. */
  ip?: string;
  /** Where the server's stdout/stderr go; defaults to the cache dir. */
  logFile?: string;
}

export interface TemporalDevServer {
  /** `host:port` for `Connection.connect({ address })`. */
  address: string;
  namespace: string;
  uiUrl?: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
// temporal.api.enums.v1.IndexedValueType numbers, as ListSearchAttributes returns them.
const INDEXED_VALUE_TYPE: Record<string, number> = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
};

/** The directory holding package.json: `__dirname` is `tools/dev` under ts-node and `dist/tools/dev` when built. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
}

let cliPath: Promise<string> | undefined;

/** Path of the Temporal CLI, from scripts/temporal-cli.sh (which may install it); run once per process. */
export function temporalCliPath(): Promise<string> {
  cliPath ??= runCliScript().catch((err: unknown) => {
    // Don't cache a failure: a later call may succeed once the cause is fixed.
    cliPath = undefined;
    throw err;
  });
  return cliPath;
}

function runCliScript(): Promise<string> {
  const script = path.join(packageRoot(), 'scripts', 'temporal-cli.sh');
  return new Promise((resolve, reject) => {
    // stderr is the script's progress log: let the user see a slow install happen.
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const lines = stdout.trim().split('\n');
      const found = lines[lines.length - 1]?.trim() ?? '';
      if (code !== 0) {
        reject(new Error(`${script} failed (${signal ?? `exit code ${code}`})`));
      } else if (!path.isAbsolute(found)) {
        reject(new Error(`${script} printed no absolute path: ${JSON.stringify(stdout)}`));
      } else {
        resolve(found);
      }
    });
  });
}

/** The host to dial for a bind address: a wildcard bind is reachable on loopback; IPv6 needs brackets. */
function dialHost(ip: string): string {
  if (ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '[::1]';
  return ip.includes(':') ? `[${ip}]` : ip;
}

function tail(file: string, maxLines = 40): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-maxLines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode < 500);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/** Why the server is not ready yet, or undefined when it serves the namespace with all search attributes. */
async function notReadyReason(address: string, namespace: string, uiUrl: string | undefined): Promise<string | undefined> {
  // lazy + ensureConnected rather than connect(): connect() leaks its channel when it fails.
  const connection = Connection.lazy({ address, connectTimeout: '2s' });
  try {
    await connection.ensureConnected();
    const deadline = () => new Date(Date.now() + 2_000);
    await connection.withDeadline(deadline(), () => connection.workflowService.getSystemInfo({}));
    const { customAttributes } = await connection.withDeadline(deadline(), () =>
      connection.operatorService.listSearchAttributes({ namespace }),
    );
    const missing = ALL_SEARCH_ATTRIBUTES.filter((key) => Number(customAttributes?.[key.name]) !== INDEXED_VALUE_TYPE[key.type]).map(
      (key) => `${key.name}:${key.type}`,
    );
    if (missing.length > 0) return `search attributes not registered yet: ${missing.join(', ')}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await connection.close().catch(() => undefined);
  }
  if (uiUrl && !(await httpOk(uiUrl, 2_000))) return `UI not answering at ${uiUrl}`;
  return undefined;
}

/**
 * Starts `temporal server start-dev` with the project's search attributes and resolves once it serves
 * the namespace. The caller owns the process: call stop(). As a safety net the server is also killed
 * when this Node process exits.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const cli = await temporalCliPath();
  const ip = options.ip ?? '127.0.0.1';
  const headless = options.headless ?? false;
  const namespace = options.namespace ?? 'default';
  const port = options.port ?? (await freePort(ip));
  let uiPort = options.uiPort;
  if (!headless && uiPort === undefined) {
    // freePort twice in a row can hand back the same port once the first was released; avoid that.
    do uiPort = await freePort(ip);
    while (uiPort === port);
  }
  const host = dialHost(ip);
  const address = `${host}:${port}`;
  const uiUrl = headless ? undefined : `http://${host}:${uiPort}`;
  const logFile = options.logFile ?? path.join(cacheDir(), 'logs', `temporal-dev-${port}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (!headless) args.push('--ui-port', String(uiPort));
  if (headless) args.push('--headless');
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  args.push('--namespace', namespace, '--log-level', 'warn', ...searchAttributeCliArgs());

  // The child writes straight into the file: no pipe to drain, and the log survives us for post-mortems.
  const logFd = fs.openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    fs.writeSync(logFd, `$ ${cli} ${args.join(' ')}\n`);
    child = spawn(cli, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    fs.closeSync(logFd);
  }

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited ??= { code: null, signal: null };
      resolve();
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    })();
    return stopping;
  };

  const started = Date.now();
  let reason = 'not checked yet';
  while (Date.now() - started < READY_TIMEOUT_MS) {
    if (exited) {
      await stop();
      const how = spawnError ? spawnError.message : (exited.signal ?? `exit code ${exited.code}`);
      throw new Error(`temporal dev server exited during startup (${how}); log ${logFile}:\n${tail(logFile)}`);
    }
    reason = (await notReadyReason(address, namespace, uiUrl)) ?? '';
    if (!reason) {
      if (child.pid === undefined) throw new Error('temporal dev server has no pid');
      return { address, namespace, uiUrl, pid: child.pid, logFile, stop };
    }
    await sleep(250);
  }
  await stop();
  throw new Error(
    `temporal dev server at ${address} not ready after ${READY_TIMEOUT_MS / 1000} s (${reason}); log ${logFile}:\n${tail(logFile)}`,
  );
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from './temporal-server';

/**
 * `npm run dev`'s state folder: one dev identity per machine, as `temporal server start-dev` keeps one
 * database. DEV_STATE_DIR, or `dev/` in the user cache (~/.cache/itdr-verify/dev), outside the work tree so no
 * clone or worktree commits it and every checkout on the machine shares it. Files are written atomically
 * (temporary file, then rename) and readable by the owner only: they hold the dev stack's generated secrets.
 *
 *   identity.json   the generated secrets, reused on every run
 *   stack.json      the running stack (pid, addresses, the worker's environment), while `npm run dev` runs;
 *                   `npm run doctor` reads it
 *   cli.env         the CLI's environment (KEY=value lines) while the stack runs
 *   temporal.sqlite Temporal's database, with DEV_PERSIST=1
 *   simulator.json  the simulator's incidents, comments, sessions and outbox, with DEV_PERSIST=1
 */
export function devStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEV_STATE_DIR?.trim() || path.join(cacheDir(), 'dev');
}

/** The dev stack's secrets: generated once, then the same on every run, so the CLI's key stays valid. */
export interface DevIdentity {
  payloadEncryptionKey: string;
  apiKey: string;
  webhookSecret: string;
}

export function writeFileAtomic(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temporary, content, { mode: 0o600 });
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

function readJson<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); delete it to start afresh`);
  }
}

const isKey = (value: unknown, bytes: number) => typeof value === 'string' && Buffer.from(value, 'base64').length === bytes;

/** Reads `identity.json`, or creates it with fresh secrets; a damaged file is refused, not silently replaced. */
export function loadOrCreateDevIdentity(dir: string): { identity: DevIdentity; created: boolean; file: string } {
  const file = path.join(dir, 'identity.json');
  const stored = readJson<Partial<DevIdentity>>(file);
  if (stored) {
    const valid =
      isKey(stored.payloadEncryptionKey, 32) &&
      typeof stored.apiKey === 'string' &&
      stored.apiKey.length >= 24 &&
      typeof stored.webhookSecret === 'string' &&
      stored.webhookSecret.length >= 24;
    if (!valid) throw new Error(`${file} lacks payloadEncryptionKey (32 bytes, base64), apiKey or webhookSecret (24+ characters); delete it to generate new ones`);
    return { identity: stored as DevIdentity, created: false, file };
  }
  const identity: DevIdentity = {
    payloadEncryptionKey: randomBytes(32).toString('base64'),
    apiKey: randomBytes(24).toString('base64url'),
    webhookSecret: randomBytes(24).toString('base64url'),
  };
  writeFileAtomic(file, `${JSON.stringify(identity, null, 2)}\n`);
  return { identity, created: true, file };
}

/** What a running `npm run dev` tells the doctor (and anyone else on the machine) about itself. */
export interface DevStackRecord {
  pid: number;
  startedAt: string;
  gatewayUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  sentinelPageUrl: string;
  /** The test CA the simulator's HTTPS certificate is issued by (NODE_EXTRA_CA_CERTS for its clients). */
  caCertPath: string;
  /** The worker's environment (secrets included) plus the managed identity endpoint of the simulator. */
  env: Record<string, string>;
}

export const stackRecordFile = (dir: string) => path.join(dir, 'stack.json');
export const cliEnvFile = (dir: string) => path.join(dir, 'cli.env');

export function writeStackRecord(dir: string, record: DevStackRecord, cliEnv: Record<string, string>): void {
  writeFileAtomic(stackRecordFile(dir), `${JSON.stringify(record, null, 2)}\n`);
  writeFileAtomic(cliEnvFile(dir), Object.entries(cliEnv).map(([key, value]) => `${key}=${value}\n`).join(''));
}

/** Removes the record, unless another `npm run dev` has replaced it meanwhile. */
export function removeStackRecord(dir: string, pid: number = process.pid): void {
  const record = readJson<DevStackRecord>(stackRecordFile(dir));
  if (record && record.pid !== pid) return;
  fs.rmSync(stackRecordFile(dir), { force: true });
  fs.rmSync(cliEnvFile(dir), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running dev stack's record; undefined when none runs (a record left by a killed run is ignored). */
export function readRunningStack(dir: string): DevStackRecord | undefined {
  const record = readJson<DevStackRecord>(stackRecordFile(dir));
  return record && typeof record.pid === 'number' && alive(record.pid) ? record : undefined;
}

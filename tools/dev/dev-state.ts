import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readStateFile, stackRecordFile, type DevStackRecord } from '../../src/doctor/dev-stack-record';

/**
 * `npm run dev`'s state folder (its location and the running-stack record: src/doctor/dev-stack-record.ts, which
 * the doctor reads): one dev identity per machine, as `temporal server start-dev` keeps one database. Files are
 * written atomically (temporary file, then rename) and readable by the owner only: they hold the dev stack's
 * generated secrets.
 *
 *   identity.json   the generated secrets, reused on every run
 *   stack.json      the running stack (pid, addresses, the worker's environment), while `npm run dev` runs;
 *                   `npm run doctor` reads it
 *   cli.env         the CLI's environment (KEY=value lines) while the stack runs
 *   temporal.sqlite Temporal's database, with DEV_PERSIST=1
 *   simulator.json  the simulator's incidents, comments, sessions and outbox, with DEV_PERSIST=1
 */

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

const isKey = (value: unknown, bytes: number) => typeof value === 'string' && Buffer.from(value, 'base64').length === bytes;

/** Reads `identity.json`, or creates it with fresh secrets; a damaged file is refused, not silently replaced. */
export function loadOrCreateDevIdentity(dir: string): { identity: DevIdentity; created: boolean; file: string } {
  const file = path.join(dir, 'identity.json');
  const stored = readStateFile<Partial<DevIdentity>>(file);
  if (stored) {
    const valid =
      isKey(stored.payloadEncryptionKey, 32) &&
      typeof stored.apiKey === 'string' &&
      stored.apiKey.length >= 24 &&
      typeof stored.webhookSecret === 'string' &&
      stored.webhookSecret.length >= 24;
    if (!valid)
      throw new Error(
        `${file} lacks payloadEncryptionKey (32 bytes, base64), apiKey or webhookSecret (24+ characters); delete it to generate new ones`,
      );
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

export const cliEnvFile = (dir: string) => path.join(dir, 'cli.env');

export function writeStackRecord(dir: string, record: DevStackRecord, cliEnv: Record<string, string>): void {
  writeFileAtomic(stackRecordFile(dir), `${JSON.stringify(record, null, 2)}\n`);
  writeFileAtomic(
    cliEnvFile(dir),
    Object.entries(cliEnv)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  );
}

/** Removes the record, unless another `npm run dev` has replaced it meanwhile. */
export function removeStackRecord(dir: string, pid: number = process.pid): void {
  const record = readStateFile<DevStackRecord>(stackRecordFile(dir));
  if (record && record.pid !== pid) return;
  fs.rmSync(stackRecordFile(dir), { force: true });
  fs.rmSync(cliEnvFile(dir), { force: true });
}

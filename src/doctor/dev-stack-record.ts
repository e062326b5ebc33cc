import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where a running `npm run dev` says where it is, and what it says: the doctor checks that stack when it runs
 * beside it. Defined here, on the product's side, so that the doctor reads the record without depending on the
 * dev tooling; `tools/dev/dev-state.ts` writes it.
 */

/** itdr-verify's user cache folder: ITDR_CACHE_DIR, else `itdr-verify` in the XDG cache (as scripts/temporal-cli.sh). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ITDR_CACHE_DIR) return env.ITDR_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'itdr-verify');
}

/**
 * `npm run dev`'s state folder: DEV_STATE_DIR, or `dev/` in the user cache (~/.cache/itdr-verify/dev), outside
 * the work tree so no clone or worktree commits it and every checkout on the machine shares it.
 */
export function devStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEV_STATE_DIR?.trim() || path.join(cacheDir(env), 'dev');
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

/** A state file's JSON; undefined when it does not exist, an error naming the file when it is not JSON. */
export function readStateFile<T>(file: string): T | undefined {
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
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); delete it to start afresh`, { cause: error });
  }
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
  const record = readStateFile<DevStackRecord>(stackRecordFile(dir));
  return record && typeof record.pid === 'number' && alive(record.pid) ? record : undefined;
}

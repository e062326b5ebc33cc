import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, portOpen, run, startProcess, waitFor, type RunningProcess } from './processes';

export interface PostgreSql {
  host: string;
  port: number;
  user: string;
  /** Generated for this run; passed to tools through the environment only. */
  password: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** Debian's packaged server binaries (apt-get install postgresql): the newest installed major version. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((entry) => fs.existsSync(path.join(root, entry, 'bin', 'initdb')))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server under ${root}: apt-get install postgresql`);
  return path.join(root, newest, 'bin');
}

/** initdb refuses to run as root: as root (CI), the cluster belongs to Debian's postgres user (or nobody). */
function clusterOwner(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(run('id', ['-u', name]).trim());
      const gid = Number(run('id', ['-g', name]).trim());
      return { uid, gid };
    } catch {
      // Try the next one.
    }
  }
  throw new Error('running as root, and neither the postgres nor the nobody user exists to own the cluster');
}

/** A throw-away cluster in `dir` on a free loopback port, password (SCRAM) authentication, no Unix socket shared. */
export async function startPostgreSql(dir: string, logFile: string): Promise<PostgreSql> {
  const bin = postgresBinDir();
  const owner = clusterOwner();
  const data = path.join(dir, 'data');
  const sockets = path.join(dir, 'sockets');
  fs.mkdirSync(sockets, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const password = randomBytes(18).toString('base64url');
  const passwordFile = path.join(dir, 'password');
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner.uid !== undefined) {
    for (const entry of [dir, sockets, passwordFile]) fs.chownSync(entry, owner.uid, owner.gid!);
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: os.tmpdir() };
  run(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'temporal', `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-instructions'],
    {
      env,
      ...owner,
    },
  );
  fs.rmSync(passwordFile);
  const [port] = await freePorts(1);
  fs.writeFileSync(logFile, '');
  if (owner.uid !== undefined) fs.chownSync(logFile, owner.uid, owner.gid!);
  const server = startProcess(
    'postgres',
    path.join(bin, 'postgres'),
    ['-D', data, '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-c', `unix_socket_directories=${sockets}`],
    {
      env,
      logFile,
      ...owner,
    },
  );
  await waitFor('PostgreSQL to accept connections', async () => ((await portOpen(port)) ? true : undefined), {
    timeoutMs: 60_000,
    process: server,
  });
  return {
    host: '127.0.0.1',
    port: port,
    user: 'temporal',
    password,
    process: server,
    // SIGINT: PostgreSQL's fast shutdown (closes sessions, then stops).
    stop: () => server.stop('SIGINT', 20_000),
  };
}

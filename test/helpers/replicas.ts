import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The product's entry points as separate processes behind a load balancer, as production runs them: used by
 * the multi-replica test and by the bench's scale-out phases.
 */
export interface Replica {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs: string[];
}

/** Starts `dist/src/<entry>.js` with `env` and resolves once a log line matches `ready`. */
export function startReplica(name: string, entry: 'gateway' | 'worker', env: NodeJS.ProcessEnv, ready: RegExp): Promise<Replica> {
  const script = path.join(__dirname, '..', '..', 'src', `${entry}.js`);
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 120 s:\n${logs.slice(-20).join('\n')}`)), 120_000);
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logs.push(line);
        if (ready.test(line)) {
          clearTimeout(timer);
          resolve({ name, child, exited, logs });
        }
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${logs.slice(-20).join('\n')}`));
    });
  });
}

/** Stops a replica that still runs (SIGKILL) and waits for its exit. */
export async function killReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGKILL');
  await replica.exited;
}

/** The URL a gateway replica logged when it started listening. */
export function urlOf(replica: Replica): string {
  const line = replica.logs.find((entry) => entry.includes('"gateway listening"'));
  const url = line && (JSON.parse(line) as { url?: string }).url;
  if (!url) throw new Error(`${replica.name} did not log its URL`);
  return url;
}

export interface Balancer {
  url: string;
  /** Requests sent to each backend. */
  sentTo: Map<string, number>;
  /** Backends whose /readyz answered 503 at some point. */
  notReadySeen: Set<string>;
  close(): Promise<void>;
}

/**
 * A minimal round-robin load balancer, as the tests' stand-in for a cloud one: it probes each backend's
 * /readyz every `probeIntervalMs` (100 ms) and sends requests only to those whose last answer was 200 (a probe
 * that gets no answer in time changes nothing, a refused connection takes the backend out); when none is ready it
 * "fails open" and tries them all, as cloud load balancers do. A request whose connection is refused is tried on
 * the next backend (nothing was sent, so that is safe for any request).
 */
export async function startBalancer(backends: string[], options: { probeIntervalMs?: number; port?: number } = {}): Promise<Balancer> {
  const probeIntervalMs = options.probeIntervalMs ?? 100;
  const ready = new Map(backends.map((backend) => [backend, true]));
  const sentTo = new Map(backends.map((backend) => [backend, 0]));
  const notReadySeen = new Set<string>();
  let closing = false;
  const probe = async () => {
    while (!closing) {
      await Promise.all(
        backends.map(async (backend) => {
          // The gateway gives Temporal's health check 3 s before it answers 503 itself.
          const status = await fetch(`${backend}/readyz`, { signal: AbortSignal.timeout(4_000) }).then(
            (response) => response.status,
            (error: { cause?: { code?: string } }) => (error?.cause?.code === 'ECONNREFUSED' ? 0 : undefined),
          );
          if (status === undefined) return;
          if (status === 503) notReadySeen.add(backend);
          ready.set(backend, status === 200);
        }),
      );
      await sleep(probeIntervalMs);
    }
  };
  const probing = probe();
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const refused = new Set<string>();
      const attempt = () => {
        const untried = backends.filter((backend) => !refused.has(backend));
        const readyOnes = untried.filter((backend) => ready.get(backend));
        const candidates = readyOnes.length > 0 ? readyOnes : untried;
        if (candidates.length === 0) {
          res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"no_backend"}}');
          return;
        }
        const backend = candidates[next++ % candidates.length];
        const target = new URL(req.url ?? '/', backend);
        const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
          sentTo.set(backend, (sentTo.get(backend) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED' && !res.headersSent) {
            ready.set(backend, false);
            refused.add(backend);
            attempt();
            return;
          }
          if (!res.headersSent)
            res.writeHead(502, { 'content-type': 'application/json' }).end(`{"error":{"code":"upstream_${error.code ?? 'error'}"}}`);
          else res.destroy();
        });
        upstream.end(body);
      };
      attempt();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sentTo,
    notReadySeen,
    async close() {
      closing = true;
      await probing;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

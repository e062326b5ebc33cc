import http from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  /** Shown in the /readyz body, e.g. the worker's state. */
  detail?: Record<string, unknown>;
}

/**
 * A small HTTP server for a process that has no other (the worker): `GET /metrics` (Prometheus text),
 * `GET /healthz` (the process answers), `GET /readyz` (200 when `readiness()` says ready, 503 otherwise).
 * Nothing else; no request body is read.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
}): Promise<MetricsServer> {
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { error: { code: 'method_not_allowed', message: 'Only GET' } });
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        () => json(res, 500, { error: { code: 'metrics_failed', message: 'Could not collect the metrics' } }),
      );
      return;
    }
    if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      let readiness: Readiness;
      try {
        readiness = options.readiness();
      } catch {
        readiness = { ready: false };
      }
      json(res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not_ready', ...readiness.detail });
      return;
    }
    json(res, 404, { error: { code: 'not_found', message: 'No such endpoint' } });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host =
    options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

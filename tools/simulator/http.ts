import { STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { faultSpecSchema, type FaultStore } from './faults';
import { SIMULATED_SERVICES, type SimulatedService } from './services';

/** Builds an error body in the shape of the simulated service. */
export type ErrorBodyBuilder = (status: number, code: string, message: string, req: Request) => unknown;

export interface ServiceContext {
  service: SimulatedService;
  faults: FaultStore;
  errorBody: ErrorBodyBuilder;
  /** Aborted by close(): ends fault delays and webhook deliveries still running. */
  shutdown: AbortSignal;
  logger?: Logger;
}

export const JSON_LIMIT = '256kb';

/**
 * One simulated service: request log, the simulator's own `/simulator/*` controls (no auth, no faults), then
 * faults, then the service's routes, then JSON 404 and error handlers in the service's error shape.
 */
export function buildServiceApp(ctx: ServiceContext, parts: { routes: Router; admin?: Router }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(ctx));
  app.use('/simulator', faultAdminRouter(ctx));
  if (parts.admin) app.use('/simulator', parts.admin);
  app.use('/simulator', (_req, res) => {
    res.status(404).json({ error: { code: 'NotFound', message: 'No such simulator control route.' } });
  });
  app.use(faultMiddleware(ctx));
  app.use(parts.routes);
  app.use((req, res) => {
    sendError(res, ctx, req, 404, 'NotFound', `No route for ${req.method} ${req.path}.`);
  });
  app.use(errorHandler(ctx));
  return app;
}

export function sendError(
  res: Response,
  ctx: Pick<ServiceContext, 'errorBody'>,
  req: Request,
  status: number,
  code: string,
  message: string,
): void {
  res.status(status).json(ctx.errorBody(status, code, message, req));
}

/** A generic error code for an HTTP status, for faults and unexpected errors. */
export function codeForStatus(status: number): string {
  const known: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return known[status] ?? `Http${status}`;
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** First value of a query parameter (Express gives arrays for repeated keys). */
export function queryParam(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function requestLog(ctx: ServiceContext) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!ctx.logger) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      ctx.logger?.info(
        {
          service: ctx.service,
          method: req.method,
          // A verification link is a bearer capability: keep its id out of logs.
          path: req.path.replace(/^\/verify\/[^/]+/, '/verify/:interviewId'),
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'simulator request',
      );
    });
    next();
  };
}

function faultMiddleware(ctx: ServiceContext) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const action = ctx.faults.take(ctx.service, req.method, req.originalUrl);
    if (!action) return next();
    if (action.delayMs > 0) {
      try {
        await sleep(action.delayMs, undefined, { signal: ctx.shutdown });
      } catch {
        return; // closing: the socket is being destroyed anyway
      }
    }
    if (action.loseResponse) {
      // The handler's work is done when it answers: drop the answer, as a network failure after the write would.
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as typeof res.end;
    }
    if (action.status === undefined) return next();
    if (action.retryAfterSeconds !== undefined) res.set('Retry-After', String(action.retryAfterSeconds));
    sendError(res, ctx, req, action.status, codeForStatus(action.status), `Injected fault: HTTP ${action.status} (simulator).`);
  };
}

const faultBodySchema = faultSpecSchema.extend({ service: faultSpecSchema.shape.service.optional() });

function faultAdminRouter(ctx: ServiceContext): Router {
  const router = express.Router();
  router.use(express.json({ limit: JSON_LIMIT }));
  router.get('/faults', (_req, res) => {
    res.json({ value: ctx.faults.list() });
  });
  router.post('/faults', (req, res) => {
    const parsed = faultBodySchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'InvalidFault', message: z.prettifyError(parsed.error) } });
      return;
    }
    // Without `service`, the fault is for the server that received it.
    const fault = ctx.faults.add({ ...parsed.data, service: parsed.data.service ?? ctx.service });
    res.status(201).json(fault);
  });
  router.delete('/faults', (req, res) => {
    const service = queryParam(req, 'service');
    if (service !== undefined && !SIMULATED_SERVICES.includes(service as SimulatedService)) {
      res.status(400).json({ error: { code: 'InvalidService', message: `service must be one of ${SIMULATED_SERVICES.join(', ')}` } });
      return;
    }
    ctx.faults.clear(service as SimulatedService | undefined);
    res.status(204).end();
  });
  router.use(adminErrorHandler);
  return router;
}

/** Error handler for `/simulator/*` routers: one plain JSON shape, whatever the service. */
export function adminErrorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const { status, message } = describeError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).json({ error: { code: codeForStatus(status), message } });
}

function errorHandler(ctx: ServiceContext) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const { status, message } = describeError(err);
    if (status >= 500)
      ctx.logger?.error({ service: ctx.service, path: req.path, error: (err as Error)?.message }, 'simulator handler failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, ctx, req, status, codeForStatus(status), message);
  };
}

// Body-parser errors carry a 4xx status and a type; anything else is the simulator's own bug. Messages never
// echo the request body.
function describeError(err: unknown): { status: number; message: string } {
  const candidate = err as { status?: unknown; type?: unknown };
  const status = typeof candidate?.status === 'number' && candidate.status >= 400 && candidate.status < 500 ? candidate.status : 500;
  if (status === 500) return { status, message: 'Internal error in the simulator.' };
  switch (candidate.type) {
    case 'entity.parse.failed':
      return { status, message: 'The request body is not valid JSON.' };
    case 'entity.too.large':
      return { status, message: 'The request body is too large.' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status, message: 'Unsupported request body encoding.' };
    default:
      return { status, message: reasonPhrase(status) };
  }
}

export interface ListeningServer {
  server: https.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function listenHttps(
  app: express.Express,
  tls: { certPem: string; keyPem: string },
  host: string,
  port: number,
): Promise<ListeningServer> {
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, app);
  // A client that never finishes its request must not pin the server open.
  server.requestTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const actualPort = (server.address() as AddressInfo).port;
      resolve({
        server,
        port: actualPort,
        url: `https://${urlHost(host)}:${actualPort}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // SDK clients keep connections alive; without this close() would wait for their idle timeout.
            server.closeAllConnections();
          }),
      });
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

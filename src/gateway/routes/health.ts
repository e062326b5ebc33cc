import express, { type Router } from 'express';
import type { GatewayMetrics } from '../../observability/metrics';

/**
 * GET /healthz (liveness), GET /readyz (readiness) and, when served, GET /metrics. Liveness answers as long as
 * the process serves HTTP: neither Temporal trouble nor a drain is a reason to restart it.
 */
export function healthRouter(deps: { checkTemporal: () => Promise<void>; isDraining?: () => boolean; metrics?: GatewayMetrics }): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const { metrics } = deps;
  if (metrics) {
    router.get('/metrics', async (_req, res) => {
      res
        .set('content-type', metrics.registry.contentType)
        .set('cache-control', 'no-store')
        .send(await metrics.registry.metrics());
    });
  }

  router.get('/readyz', async (_req, res) => {
    if (deps.isDraining?.()) {
      res
        .status(503)
        .json({ status: 'not_ready', error: { code: 'draining', message: 'Shutting down: finishing the requests in flight' } });
      return;
    }
    try {
      await deps.checkTemporal();
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'not_ready', error: { code: 'temporal_unreachable', message: 'Temporal does not answer' } });
    }
  });
  return router;
}

import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { GatewayMetrics, WebhookOutcome } from '../observability/metrics';

export const WEBHOOK_ROUTE = '/api/webhooks/incode';

const tracer = trace.getTracer('itdr-verify-gateway');

/**
 * Per request: `itdr_http_requests_total` and `itdr_http_request_duration_seconds` by method, route pattern
 * (never the raw path: `unmatched` when no route matched) and status (`aborted` when the client went away
 * before the answer); `itdr_webhook_events_total` for the webhook route; and a server span that the Temporal
 * client's spans hang under (a no-op unless tracing is on). The caller's trace context is not continued:
 * the callers (Sentinel, Incode) are outside our trust boundary.
 */
export function httpObservability(metrics: GatewayMetrics | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } });
    res.once('close', () => {
      // Express types the matched route `any`; its path is the pattern the router matched.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      const labels = { method: req.method, route, status };
      metrics?.httpRequests.inc(labels);
      metrics?.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      if (route === WEBHOOK_ROUTE && req.method === 'POST') metrics?.recordWebhook(webhookOutcome(res));
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(context.active(), span), next);
  };
}

/** What became of a webhook: what the handler recorded, or what its status says when it never got there. */
function webhookOutcome(res: Response): WebhookOutcome {
  const recorded = res.locals.webhookOutcome as WebhookOutcome | undefined;
  if (recorded && res.statusCode < 500) return recorded;
  switch (res.statusCode) {
    case 401:
      return 'unauthenticated';
    case 429:
      return 'rate_limited';
    case 400:
    case 413:
    case 415:
      return 'invalid';
    case 404:
      return 'unknown';
    default:
      return 'error';
  }
}

import express, { type Request, type Response, type Router } from 'express';
import { parseFeedQuery } from '../../src/clients/threat-intel-client';
import { JSON_LIMIT } from './http';
import type { AzureTokenStore } from './identity';
import { RateWindows, type RateLimit } from './rate-window';
import { FEED_RESULT_COLUMNS, type ThreatIntelStore } from './threat-intel-store';

/** The query API's documented limit: 200 requests per 30 seconds per user or app. */
export const LOG_ANALYTICS_LIMITS: readonly RateLimit[] = [{ calls: 200, windowMs: 30_000 }];

export function logAnalyticsErrorBody(_status: number, code: string, message: string): unknown {
  return { error: { code, message } };
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json(logAnalyticsErrorBody(status, code, message));
}

const ISO_DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** The start of a query's timespan: an ISO duration (`PT720H`), or `start/end` / `start/duration`. */
function timespanStart(timespan: unknown, now: number): number | undefined {
  if (timespan === undefined) return 0;
  if (typeof timespan !== 'string') return undefined;
  const [first, second] = timespan.split('/');
  const duration = (text: string) => {
    const match = ISO_DURATION.exec(text);
    if (!match) return undefined;
    const [, d, h, m, s] = match.map((part) => Number(part ?? 0));
    return (((d * 24 + h) * 60 + m) * 60 + s) * 1000;
  };
  if (second === undefined) {
    const ms = duration(first);
    return ms === undefined ? undefined : now - ms;
  }
  const start = Date.parse(first);
  return Number.isFinite(start) ? start : undefined;
}

/**
 * The Log Analytics query API (`POST /v1/workspaces/{id}/query`) over the simulated ThreatIntelIndicators table.
 * Token for api.loganalytics.io (or this server's URL); 200 requests per 30 s per caller, then 429 with
 * Retry-After. It evaluates exactly the sync's query (src/clients/threat-intel-client.ts); any other KQL is a
 * 400 BadArgumentError, as a query the service cannot parse would be.
 */
export function logAnalyticsRouter(
  store: ThreatIntelStore,
  tokens: AzureTokenStore,
  options: { audiences: () => string[]; limits?: readonly RateLimit[] },
): Router {
  const router = express.Router();
  const windows = new RateWindows();
  router.use(express.json({ limit: JSON_LIMIT }));
  router.post('/v1/workspaces/:workspaceId/query', (req: Request, res: Response) => {
    const audiences = options.audiences();
    const check = tokens.check(req.get('authorization'), (resource) => audiences.includes(resource));
    if (!check.ok) {
      res.set('WWW-Authenticate', 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"');
      sendError(
        res,
        401,
        'InvalidAuthenticationTokenAudience',
        `The access token is ${check.reason === 'audience' ? `for the wrong audience (${check.resource})` : check.reason}.`,
      );
      return;
    }
    const wait = windows.take(check.token.clientId, options.limits ?? LOG_ANALYTICS_LIMITS);
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1000)));
      sendError(res, 429, 'ThrottledError', 'Your request was throttled: too many requests.');
      return;
    }
    const workspaceId = String(req.params.workspaceId);
    if (!store.hasWorkspace(workspaceId)) {
      sendError(res, 404, 'WorkspaceNotFoundError', `The workspace ${workspaceId} could not be found.`);
      return;
    }
    const body = req.body as { query?: unknown; timespan?: unknown };
    if (typeof body?.query !== 'string' || body.query.length === 0) {
      sendError(res, 400, 'BadArgumentError', 'The request had some invalid properties: query is required.');
      return;
    }
    const since = timespanStart(body.timespan, Date.now());
    if (since === undefined) {
      sendError(res, 400, 'BadArgumentError', 'The timespan is not valid.');
      return;
    }
    const parameters = parseFeedQuery(body.query);
    if (!parameters) {
      sendError(
        res,
        400,
        'BadArgumentError',
        'Query could not be parsed (the simulator evaluates only the threat-intelligence sync query).',
      );
      return;
    }
    const rows = store.runFeedQuery(workspaceId, parameters, since);
    res.json({ tables: [{ name: 'PrimaryResult', columns: FEED_RESULT_COLUMNS.map(([name, type]) => ({ name, type })), rows }] });
  });
  return router;
}

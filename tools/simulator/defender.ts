import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { queryParam } from './http';
import type { AzureTokenStore } from './identity';
import {
  DEFENDER_BATCH_LIMIT,
  DEFENDER_LIMITS,
  type DefenderOperation,
  type DefenderStore,
  type ImportItemResult,
  type IndicatorInput,
  type StoredIndicator,
} from './defender-store';
import { RateWindows, type RateLimit } from './rate-window';

export function defenderErrorBody(_status: number, code: string, message: string): unknown {
  return { error: { code, message, target: '' } };
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json(defenderErrorBody(status, code, message));
}

export interface DefenderApiOptions {
  audiences: () => string[];
  limits?: Partial<Record<DefenderOperation, readonly RateLimit[]>>;
}

/**
 * Defender for Endpoint's indicators API (`/api/indicators`): list with OData `$filter` on `application`,
 * `$top`/`$skip` paging; submit one; import up to 500 (per-item results, upsert by type and value); batch delete
 * up to 500 ids; delete one. Each operation has its documented calls per minute and hour, per application;
 * beyond them, 429 with Retry-After. The tenant holds at most its cap of active indicators.
 */
export function defenderRouter(store: DefenderStore, tokens: AzureTokenStore, options: DefenderApiOptions): Router {
  const router = express.Router();
  const windows = new RateWindows();
  router.use((req, res, next) => {
    const audiences = options.audiences();
    const check = tokens.check(req.get('authorization'), (resource) => audiences.includes(resource));
    if (!check.ok) {
      sendError(
        res,
        401,
        'Unauthorized',
        `The access token is ${check.reason === 'audience' ? `for the wrong audience (${check.resource})` : check.reason}.`,
      );
      return;
    }
    res.locals.app = check.token.clientId;
    next();
  });
  const limited = (operation: DefenderOperation) => (req: Request, res: Response, next: NextFunction) => {
    const wait = windows.take(`${res.locals.app as string}:${operation}`, options.limits?.[operation] ?? DEFENDER_LIMITS[operation]);
    if (wait === 0) return next();
    res.set('Retry-After', String(Math.ceil(wait / 1000)));
    sendError(res, 429, 'TooManyRequests', `Rate limit exceeded for ${req.method} ${req.path}.`);
  };
  router.use(express.json({ limit: '2mb' }));

  router.get('/api/indicators', limited('list'), (req, res) => {
    const filter = queryParam(req, '$filter');
    let items = store.list();
    if (filter !== undefined) {
      const match = /^application eq '((?:[^']|'')*)'$/.exec(filter.trim());
      if (!match) {
        sendError(res, 400, 'InvalidRequestBody', `Unsupported $filter (the simulator understands "application eq '...'"): ${filter}`);
        return;
      }
      const application = match[1].replace(/''/g, "'");
      items = items.filter((indicator) => indicator.application === application);
    }
    const top = Math.min(Number(queryParam(req, '$top') ?? 10_000), 10_000);
    const skip = Number(queryParam(req, '$skip') ?? 0);
    if (!Number.isInteger(top) || top < 1 || !Number.isInteger(skip) || skip < 0) {
      sendError(res, 400, 'InvalidRequestBody', '$top and $skip must be non-negative integers.');
      return;
    }
    res.json({
      '@odata.context': 'https://api.securitycenter.microsoft.com/api/$metadata#Indicators',
      value: items.slice(skip, skip + top),
    });
  });

  router.post('/api/indicators', limited('submit'), (req, res) => {
    const result = store.upsert((req.body ?? {}) as IndicatorInput, res.locals.app as string);
    if (!result.indicator) {
      sendError(res, 400, 'InvalidRequestBody', result.failure!);
      return;
    }
    res.json(result.indicator);
  });

  router.post('/api/indicators/import', limited('import'), (req, res) => {
    const list = (req.body as { Indicators?: unknown })?.Indicators;
    if (!Array.isArray(list) || list.length === 0) {
      sendError(res, 400, 'InvalidRequestBody', 'Indicators is required: a list of indicators.');
      return;
    }
    if (list.length > DEFENDER_BATCH_LIMIT) {
      sendError(res, 400, 'InvalidRequestBody', `A request may hold at most ${DEFENDER_BATCH_LIMIT} indicators.`);
      return;
    }
    const value: ImportItemResult[] = list.map((item: IndicatorInput) => {
      const result = store.upsert(item ?? {}, res.locals.app as string);
      return {
        id: result.indicator?.id ?? null,
        indicator: String(item?.indicatorValue ?? ''),
        indicatorType: String(item?.indicatorType ?? ''),
        isFailed: !result.indicator,
        failureReason: result.failure ?? null,
      };
    });
    res.json({ value });
  });

  router.post('/api/indicators/BatchDelete', limited('batchDelete'), (req, res) => {
    const ids = (req.body as { IndicatorIds?: unknown })?.IndicatorIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string' && typeof id !== 'number')) {
      sendError(res, 400, 'InvalidRequestBody', 'IndicatorIds is required: a list of indicator ids.');
      return;
    }
    if (ids.length > DEFENDER_BATCH_LIMIT) {
      sendError(res, 400, 'InvalidRequestBody', `A request may hold at most ${DEFENDER_BATCH_LIMIT} indicator ids.`);
      return;
    }
    for (const id of ids) store.delete(String(id), res.locals.app as string);
    res.status(204).end();
  });

  router.delete('/api/indicators/:id', limited('delete'), (req, res) => {
    if (!store.delete(String(req.params.id), res.locals.app as string)) {
      sendError(res, 404, 'NotFound', `Indicator ${String(req.params.id)} was not found.`);
      return;
    }
    res.status(204).end();
  });
  return router;
}

export type { StoredIndicator };

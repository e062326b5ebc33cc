import { getClient, type Client } from '@azure-rest/core-client';
import type { TokenCredential } from '@azure/identity';
import type { DesiredIndicator } from '../shared/ti-sync';
import type { DefenderIndicator } from '../ti-sync/records';
import { retryAfterMs, tiCallCounterPolicy, TiThrottledError, type TiCallObserver } from './ti-call-counter';

/** Indicators per listing page, and pages at most: the tenant holds at most 15,000 active indicators. */
const LIST_PAGE_SIZE = 5_000;
const MAX_LIST_PAGES = 20;

/** One item of an import's answer: Defender reports each indicator separately. */
export interface ImportOutcome {
  indicatorValue: string;
  indicatorType: string;
  id?: string;
  isFailed: boolean;
  failureReason?: string;
}

export class DefenderApiError extends Error {
  override name = 'DefenderApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`Defender indicators API answered ${status} ${code}: ${message}`);
  }
}

/** An OData string literal: single quotes doubled. */
function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Microsoft Defender for Endpoint's indicators API (`<endpoint>/api/indicators`), which has no SDK, through Azure's
 * REST client: bearer token for the WindowsDefenderATP app (`<audience>/.default`), the pipeline's retries and
 * its Retry-After handling on 429. A 429 that outlasts them becomes TiThrottledError for Temporal's retry.
 */
export class DefenderIndicatorsClient {
  private readonly client: Client;

  constructor(credential: TokenCredential, options: { endpoint: string; audience: string; onCall?: TiCallObserver; timeoutMs?: number }) {
    this.client = getClient(`${options.endpoint.replace(/\/+$/, '')}/api`, credential, {
      credentials: { scopes: [`${options.audience.replace(/\/+$/, '')}/.default`] },
      retryOptions: { maxRetries: 3 },
      ...(options.onCall ? { additionalPolicies: [tiCallCounterPolicy('defender', options.onCall)] } : {}),
    });
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  private readonly timeoutMs: number;

  /** Every indicator of the tenant (everyone's: the cap counts them all), or only one application's. */
  async listIndicators(filter?: { application: string }): Promise<DefenderIndicator[]> {
    const all: DefenderIndicator[] = [];
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const response = await this.client.pathUnchecked('/indicators').get({
        queryParameters: {
          $top: LIST_PAGE_SIZE,
          $skip: page * LIST_PAGE_SIZE,
          ...(filter ? { $filter: `application eq ${odataString(filter.application)}` } : {}),
        },
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      const body = this.check(response) as { value?: Array<Record<string, unknown>> };
      const items = (body.value ?? []).map(toIndicator);
      all.push(...items);
      if (items.length < LIST_PAGE_SIZE) return all;
    }
    throw new Error(`the tenant lists more than ${MAX_LIST_PAGES * LIST_PAGE_SIZE} indicators`);
  }

  /** Creates or updates (Defender matches on type and value) at most 500 indicators in one call. */
  async importIndicators(indicators: readonly DesiredIndicator[]): Promise<ImportOutcome[]> {
    if (indicators.length > 500) throw new Error('Defender imports at most 500 indicators per call');
    const response = await this.client.pathUnchecked('/indicators/import').post({
      body: {
        Indicators: indicators.map((indicator) => ({
          indicatorValue: indicator.indicatorValue,
          indicatorType: indicator.indicatorType,
          action: indicator.action,
          title: indicator.title,
          description: indicator.description,
          application: indicator.application,
          ...(indicator.expirationTime ? { expirationTime: indicator.expirationTime } : {}),
        })),
      },
      abortSignal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = this.check(response) as { value?: Array<Record<string, unknown>> };
    return (body.value ?? []).map((item) => ({
      indicatorValue: textOf(item.indicator ?? item.indicatorValue),
      indicatorType: textOf(item.indicatorType),
      ...(item.id !== undefined && item.id !== null ? { id: textOf(item.id) } : {}),
      isFailed: item.isFailed === true,
      ...(typeof item.failureReason === 'string' ? { failureReason: item.failureReason } : {}),
    }));
  }

  /** Deletes at most 500 indicators by id; ids already gone are no error (a repeated batch changes nothing). */
  async batchDelete(ids: readonly string[]): Promise<void> {
    if (ids.length > 500) throw new Error('Defender deletes at most 500 indicators per call');
    const response = await this.client.pathUnchecked('/indicators/BatchDelete').post({
      body: { IndicatorIds: [...ids] },
      abortSignal: AbortSignal.timeout(this.timeoutMs),
    });
    this.check(response);
  }

  private check(response: { status: string; body: unknown; headers: Record<string, string> }): unknown {
    const status = Number(response.status);
    if (status >= 200 && status < 300) return response.body ?? {};
    if (status === 429) throw new TiThrottledError('defender', retryAfterMs(response.headers['retry-after']));
    const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new DefenderApiError(status, error?.code ?? 'Error', error?.message ?? 'no message');
  }
}

function toIndicator(item: Record<string, unknown>): DefenderIndicator {
  const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
  return {
    id: textOf(item.id),
    indicatorValue: textOf(item.indicatorValue),
    indicatorType: textOf(item.indicatorType),
    action: textOf(item.action),
    title: text(item.title),
    description: text(item.description),
    application: text(item.application),
    expirationTime: text(item.expirationTime),
    creationTimeDateTimeUtc: text(item.creationTimeDateTimeUtc),
  };
}

/** A field of Defender's JSON as text: a string as it is, a number written out, anything else (absent, an object) ''. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

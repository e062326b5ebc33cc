import { AsyncLocalStorage } from 'node:async_hooks';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** The two APIs the threat-intelligence sync calls. */
export type TiApi = 'loganalytics' | 'defender';

/** Told of every HTTP attempt (retries included) and its status; 429 is a throttled attempt. */
export type TiCallObserver = (api: TiApi, status: number | 'network') => void;

/**
 * Counts every attempt, retries included (`perRetry`: inside the SDK's retry policy), so the metrics show the
 * calls the service's rate limit actually saw and each 429 it answered.
 */
export function tiCallCounterPolicy(api: TiApi, observe: TiCallObserver): { policy: PipelinePolicy; position: 'perRetry' } {
  return {
    position: 'perRetry',
    policy: {
      name: `itdrTiCalls-${api}`,
      async sendRequest(request, next) {
        try {
          const response = await next(request);
          observe(api, response.status);
          return response;
        } catch (error) {
          const status = (error as { statusCode?: unknown }).statusCode;
          observe(api, typeof status === 'number' ? status : 'network');
          throw error;
        }
      },
    },
  };
}

/** A call the service kept refusing with 429 after the pipeline's own retries; `retryAfterMs` is its last Retry-After. */
export class TiThrottledError extends Error {
  override name = 'TiThrottledError';
  constructor(
    readonly api: TiApi,
    readonly retryAfterMs: number,
  ) {
    super(
      `${api === 'defender' ? 'Defender indicators API' : 'Log Analytics'} throttled the sync (429); retry after ` +
        `${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }
}

/** Retry-After in seconds or as an HTTP date; a minute when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number {
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return 60_000;
}

export interface TiCallCounts {
  logAnalyticsCalls: number;
  defenderCalls: number;
  throttled: number;
}

/**
 * Counts the calls made within one activity invocation (`measure`) as well as for the whole process
 * (`observe` also forwards to the process-wide observer, e.g. the Prometheus counters), so each run can
 * report its own API calls and 429s although the clients are shared.
 */
export class TiCallTally {
  private readonly scope = new AsyncLocalStorage<TiCallCounts>();

  constructor(private readonly forward?: TiCallObserver) {}

  readonly observe: TiCallObserver = (api, status) => {
    this.forward?.(api, status);
    const counts = this.scope.getStore();
    if (!counts) return;
    if (api === 'loganalytics') counts.logAnalyticsCalls += 1;
    else counts.defenderCalls += 1;
    if (status === 429) counts.throttled += 1;
  };

  /** Runs `work`, adding the calls it makes to `calls` (also when it throws). */
  measure<T>(calls: TiCallCounts, work: () => Promise<T>): Promise<T> {
    return this.scope.run(calls, work);
  }
}

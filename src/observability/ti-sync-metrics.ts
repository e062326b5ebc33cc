import { Counter, Gauge, type Registry } from 'prom-client';
import type { TiCallObserver } from '../clients/ti-call-counter';
import { SKIP_REASONS, type TiSyncResult } from '../shared/ti-sync';

/**
 * The threat-intelligence sync's metrics, on the worker's registry. `sync` is a configured sync id (a handful,
 * from TI_SYNC_FEEDS); reasons and APIs are fixed sets.
 */
export interface TiSyncMetrics {
  runs: Counter<'sync' | 'outcome'>;
  changes: Counter<'sync' | 'change'>;
  skipped: Counter<'sync' | 'reason'>;
  apiCalls: Counter<'api'>;
  throttled: Counter<'api'>;
  lastRun: Gauge<'sync'>;
  overCap: Gauge<'sync'>;
  /** For the clients' onCall (every attempt, retries included). */
  observeCall: TiCallObserver;
  recordRun(result: TiSyncResult): void;
}

const KNOWN_REASONS: ReadonlySet<string> = new Set(SKIP_REASONS);

export function createTiSyncMetrics(registry: Registry): TiSyncMetrics {
  const runs = new Counter({
    name: 'itdr_ti_sync_runs_total',
    help: 'Threat-intelligence sync runs, by sync and outcome (complete, incomplete, dry-run)',
    labelNames: ['sync', 'outcome'] as const,
    registers: [registry],
  });
  const changes = new Counter({
    name: 'itdr_ti_sync_indicators_total',
    help: 'Defender indicators the sync created, updated, deleted, or that Defender refused (failed), by sync',
    labelNames: ['sync', 'change'] as const,
    registers: [registry],
  });
  const skipped = new Counter({
    name: 'itdr_ti_sync_skipped_total',
    help:
      'Feed indicators a run left out of Defender, by sync and reason (low-confidence, weak-hash, unsupported-type, ' +
      'covered-by-microsoft, over-cap, ...)',
    labelNames: ['sync', 'reason'] as const,
    registers: [registry],
  });
  const apiCalls = new Counter({
    name: 'itdr_ti_sync_api_calls_total',
    help: 'HTTP calls of the sync (retries included), by API (loganalytics, defender)',
    labelNames: ['api'] as const,
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'itdr_ti_sync_throttled_total',
    help: 'Answers 429 (Too Many Requests) the sync received, by API',
    labelNames: ['api'] as const,
    registers: [registry],
  });
  const lastRun = new Gauge({
    name: 'itdr_ti_sync_last_run_timestamp_seconds',
    help: 'When the last run of each sync finished (Unix time)',
    labelNames: ['sync'] as const,
    registers: [registry],
  });
  const overCap = new Gauge({
    name: 'itdr_ti_sync_over_cap',
    help: 'Selected indicators the last run of each sync left out because of the tenant cap',
    labelNames: ['sync'] as const,
    registers: [registry],
  });
  return {
    runs,
    changes,
    skipped,
    apiCalls,
    throttled,
    lastRun,
    overCap,
    observeCall(api, status) {
      apiCalls.inc({ api });
      if (status === 429) throttled.inc({ api });
    },
    recordRun(result) {
      const sync = result.syncId;
      runs.inc({ sync, outcome: result.outcome });
      if (!result.dryRun) {
        for (const change of ['created', 'updated', 'deleted', 'failed'] as const) changes.inc({ sync, change }, result[change]);
        for (const [reason, count] of Object.entries(result.plan.skipped))
          skipped.inc({ sync, reason: KNOWN_REASONS.has(reason) ? reason : 'other' }, count ?? 0);
        overCap.set({ sync }, result.plan.overCap.count);
      }
      lastRun.set({ sync }, Date.parse(result.finishedAt) / 1000);
    },
  };
}

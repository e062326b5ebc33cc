import { proxyActivities } from '@temporalio/workflow';
import type { TiSyncActivities } from '../activities/ti-sync-activities';
import type { TiSyncCallStats, TiSyncInput, TiSyncPlanSummary, TiSyncResult } from '../shared/ti-sync';

/** Batches applied per round: 10 × 500 indicators keeps each round's payload well under Temporal's limits. */
export const TI_SYNC_BATCHES_PER_ROUND = 10;
/** Rounds at most per run: 15,000 indicators need 3; the rest is room for what Defender refuses and retries. */
export const TI_SYNC_MAX_ROUNDS = 10;

const { planTiSyncRound } = proxyActivities<TiSyncActivities>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 },
});
const { applyTiSyncBatch } = proxyActivities<TiSyncActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  // A 429's Retry-After sets the next attempt's delay (nextRetryDelay); this is the backoff otherwise.
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20 },
});
const { recordTiSyncRun } = proxyActivities<TiSyncActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } });

function addCalls(total: TiSyncCallStats, more: TiSyncCallStats): void {
  total.logAnalyticsCalls += more.logAnalyticsCalls;
  total.defenderCalls += more.defenderCalls;
  total.throttled += more.throttled;
}

/**
 * One run of a threat-intelligence sync (Temporal Schedule `itdr-verify-ti-sync-<syncId>`, or the CLI): each round
 * plans from what the feed and Defender hold now and applies the next batches, until nothing is left to change.
 * A worker that dies mid-run resumes at the batch it was applying; a batch repeated changes nothing more, and the
 * next round's plan sees what was done. A dry run plans once and writes nothing.
 */
export async function tiSync(input: TiSyncInput): Promise<TiSyncResult> {
  const startedAt = new Date().toISOString();
  const calls: TiSyncCallStats = { logAnalyticsCalls: 0, defenderCalls: 0, throttled: 0 };
  const totals = { created: 0, updated: 0, deleted: 0, failed: 0 };
  const failureReasons = new Set<string>();
  let plan: TiSyncPlanSummary | undefined;
  let outcome: TiSyncResult['outcome'] = 'incomplete';
  let rounds = 0;
  while (rounds < TI_SYNC_MAX_ROUNDS) {
    rounds += 1;
    const round = await planTiSyncRound(input.settings, input.dryRun ? 0 : TI_SYNC_BATCHES_PER_ROUND);
    addCalls(calls, round.calls);
    plan ??= round.summary;
    if (input.dryRun) {
      outcome = 'dry-run';
      break;
    }
    if (round.batches.length === 0) {
      outcome = 'complete';
      break;
    }
    let changed = 0;
    // What Defender refused in the last round is what is left unsynced (an earlier refusal may have succeeded since).
    totals.failed = 0;
    failureReasons.clear();
    for (const batch of round.batches) {
      const applied = await applyTiSyncBatch(input.settings, batch);
      addCalls(calls, applied.calls);
      totals.created += applied.created;
      totals.updated += applied.updated;
      totals.deleted += applied.deleted;
      totals.failed += applied.failed;
      for (const reason of applied.failureReasons) if (failureReasons.size < 5) failureReasons.add(reason);
      changed += applied.created + applied.updated + applied.deleted;
    }
    // Defender refused everything left (e.g. the cap filled by others meanwhile): stop, report, try next run.
    if (changed === 0) break;
  }
  const result: TiSyncResult = {
    syncId: input.settings.syncId,
    feedName: input.settings.feedName,
    dryRun: input.dryRun === true,
    outcome,
    plan: plan!,
    ...totals,
    failureReasons: [...failureReasons],
    rounds,
    calls,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  await recordTiSyncRun(result);
  return result;
}

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DefenderApiError, type DefenderIndicatorsClient } from '../clients/defender-indicators-client';
import type { ThreatIntelClient } from '../clients/threat-intel-client';
import { TiThrottledError, type TiCallCounts, type TiCallTally } from '../clients/ti-call-counter';
import type { TiSyncApplyResult, TiSyncBatch, TiSyncPlanRound, TiSyncResult, TiSyncSettings } from '../shared/ti-sync';
import type { Logger } from '../shared/logger';
import { planBatches, planReconciliation } from '../ti-sync/plan';

export interface TiSyncClients {
  threatIntel: Pick<ThreatIntelClient, 'readFeed'>;
  defender: Pick<DefenderIndicatorsClient, 'listIndicators' | 'importIndicators' | 'batchDelete'>;
  /** The tally the clients report their calls to (TiCallTally.observe as their onCall). */
  calls: TiCallTally;
}

export interface TiSyncActivityOptions {
  /** Metrics and the log line of a finished run. */
  onRunFinished?: (result: TiSyncResult) => void;
  logger?: Logger;
  now?: () => number;
}

const HEARTBEAT_EVERY_MS = 5_000;

/** What Temporal should do with a failure: wait out a 429, stop on a refusal that retrying cannot fix. */
function toFailure(error: unknown): unknown {
  if (error instanceof TiThrottledError) {
    return ApplicationFailure.create({ type: 'TiThrottled', message: error.message, nextRetryDelay: Math.max(1_000, error.retryAfterMs) });
  }
  if (error instanceof DefenderApiError && (error.status === 401 || error.status === 403)) {
    return ApplicationFailure.nonRetryable(
      `${error.message} (the identity needs the application permission Ti.ReadWrite.All on WindowsDefenderATP: see the README)`,
      'TiNotAuthorized',
    );
  }
  if (error instanceof DefenderApiError && error.status >= 400 && error.status < 500 && error.status !== 408) {
    return ApplicationFailure.nonRetryable(error.message, 'TiRequestRefused');
  }
  return error;
}

/**
 * The sync's activities. `planTiSyncRound` reads both sides and returns the next batches; `applyTiSyncBatch`
 * writes one batch. A batch is idempotent (an import upserts by type and value, a delete of a deleted id is a
 * no-op), so a retried or resumed batch changes nothing more; each round plans from what both sides hold now.
 */
export function createTiSyncActivities(clients: TiSyncClients, options: TiSyncActivityOptions = {}) {
  const now = options.now ?? Date.now;
  /**
   * Runs `work` counting its calls. The counts of failed attempts travel to the next attempt in the heartbeat
   * details (sent with the failure), so a run's figures include every 429 that made an attempt fail.
   */
  const counted = async <T>(work: (calls: TiCallCounts) => Promise<T>): Promise<{ value: T; calls: TiCallCounts }> => {
    const carried = (activityInfo()?.heartbeatDetails as { calls?: TiCallCounts } | undefined)?.calls;
    const calls: TiCallCounts = { logAnalyticsCalls: 0, defenderCalls: 0, throttled: 0, ...carried };
    // A steady heartbeat lets Temporal notice a dead worker within the heartbeat timeout, not the call's timeout.
    const beat = setInterval(() => heartbeat({ calls }), HEARTBEAT_EVERY_MS);
    try {
      return { value: await clients.calls.measure(calls, () => work(calls)), calls };
    } catch (error) {
      heartbeat({ calls });
      throw toFailure(error);
    } finally {
      clearInterval(beat);
    }
  };
  return {
    async planTiSyncRound(settings: TiSyncSettings, maxBatches: number): Promise<TiSyncPlanRound> {
      const { value, calls } = await counted(async (calls) => {
        const feed = await clients.threatIntel.readFeed(
          settings.workspaceId,
          { feedName: settings.feedName, microsoftSources: settings.microsoftSources, lookbackMs: settings.lookbackMs },
          (rows) => heartbeat({ rows, calls }),
        );
        heartbeat({ rows: feed.length, calls });
        const held = await clients.defender.listIndicators();
        const plan = planReconciliation(feed, held, settings, now());
        return { plan, ...planBatches(plan, maxBatches) };
      });
      return { summary: value.plan.summary, batches: value.batches, more: value.more, calls };
    },

    async applyTiSyncBatch(_settings: TiSyncSettings, batch: TiSyncBatch): Promise<TiSyncApplyResult> {
      const { value, calls } = await counted(async (): Promise<Omit<TiSyncApplyResult, 'calls'>> => {
        if (batch.kind === 'delete') {
          await clients.defender.batchDelete(batch.ids);
          return { created: 0, updated: 0, deleted: batch.ids.length, failed: 0, failureReasons: [] };
        }
        const outcomes = await clients.defender.importIndicators(batch.indicators);
        // Updates come first in a batch, creates after them (planBatches).
        const firstCreate = batch.indicators.length - batch.creates;
        let created = 0;
        let updated = 0;
        const reasons = new Set<string>();
        batch.indicators.forEach((_indicator, index) => {
          const outcome = outcomes[index];
          if (!outcome || outcome.isFailed) {
            reasons.add(outcome?.failureReason ?? 'no answer for this indicator');
            return;
          }
          if (index >= firstCreate) created += 1;
          else updated += 1;
        });
        const failed = batch.indicators.length - created - updated;
        return { created, updated, deleted: 0, failed, failureReasons: [...reasons].slice(0, 5) };
      });
      return { ...value, calls };
    },

    async recordTiSyncRun(result: TiSyncResult): Promise<void> {
      options.onRunFinished?.(result);
      options.logger?.info(
        {
          event: 'ti_sync_run',
          sync: result.syncId,
          outcome: result.outcome,
          created: result.created,
          updated: result.updated,
          deleted: result.deleted,
          failed: result.failed,
          skipped: result.plan.skipped,
          overCap: result.plan.overCap.count,
          calls: result.calls,
        },
        `threat-intelligence sync ${result.syncId}: ${result.outcome}`,
      );
    },
  };
}

function activityInfo(): { heartbeatDetails?: unknown } | undefined {
  try {
    return Context.current().info;
  } catch {
    return undefined;
  }
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Called outside an activity (a direct call in a test): nothing to report to.
  }
}

export type TiSyncActivities = ReturnType<typeof createTiSyncActivities>;

/** A worker without TI_SYNC_FEEDS: a sync workflow sent to it fails at once, saying why. */
export function missingTiSync(): TiSyncActivities {
  const fail = async (): Promise<never> => {
    throw ApplicationFailure.nonRetryable(
      'the threat-intelligence sync is not configured on this worker (TI_SYNC_FEEDS, TI_SYNC_WORKSPACE_ID)',
      'TiSyncNotConfigured',
    );
  };
  return { planTiSyncRound: fail, applyTiSyncBatch: fail, recordTiSyncRun: fail };
}

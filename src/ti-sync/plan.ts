import type { DesiredIndicator, SkipCounts, TiSyncBatch, TiSyncPlanSummary, TiSyncSettings } from '../shared/ti-sync';
import type { DefenderIndicator, FeedIndicator } from './records';
import { countSkip, indicatorKey, selectIndicators } from './selection';

/** Defender's documented maximum per import and per batch delete. */
export const DEFENDER_BATCH_LIMIT = 500;

export interface ReconciliationPlan {
  summary: TiSyncPlanSummary;
  creates: DesiredIndicator[];
  updates: DesiredIndicator[];
  /** Ours that expired in Defender, then ours the feed no longer selects (and duplicates of ours). */
  deletes: Array<{ id: string; expired: boolean }>;
}

function isActiveIn(indicator: DefenderIndicator, now: number): boolean {
  return !indicator.expirationTime || Date.parse(indicator.expirationTime) > now;
}

/** What would change an indicator we hold: action, title, description or expiry. */
function differs(held: DefenderIndicator, desired: DesiredIndicator): boolean {
  const heldExpiry = held.expirationTime ? Date.parse(held.expirationTime) : undefined;
  const desiredExpiry = desired.expirationTime ? Date.parse(desired.expirationTime) : undefined;
  return (
    held.action !== desired.action ||
    held.title !== desired.title ||
    held.description !== desired.description ||
    heldExpiry !== desiredExpiry
  );
}

/**
 * Reconciles the selection with what Defender holds so that, once applied, Defender's indicators of this sync
 * equal the selection: create what is missing, update what differs, delete ours that expired or left the feed.
 * An indicator someone else created for the same value is theirs: skipped, never taken over. The tenant cap
 * counts everyone's active indicators; when the selection does not fit, the most confident and newest go in.
 */
export function planReconciliation(
  feed: readonly FeedIndicator[],
  held: readonly DefenderIndicator[],
  settings: TiSyncSettings,
  now: number,
): ReconciliationPlan {
  const { selected, skipped } = selectIndicators(feed, settings, now);
  const ours = held.filter((indicator) => indicator.application === settings.application);
  const others = held.filter((indicator) => indicator.application !== settings.application);
  const othersKeys = new Set(others.map((indicator) => indicatorKey(indicator.indicatorType, indicator.indicatorValue)));
  const othersActive = others.filter((indicator) => isActiveIn(indicator, now)).length;

  const skips: SkipCounts = { ...skipped };
  const wanted: DesiredIndicator[] = [];
  for (const indicator of selected) {
    if (othersKeys.has(indicatorKey(indicator.indicatorType, indicator.indicatorValue))) countSkip(skips, 'held-by-others');
    else wanted.push(indicator);
  }
  const room = Math.max(0, settings.tenantCap - othersActive);
  const kept = wanted.slice(0, room);
  const overCap = wanted.slice(room);
  if (overCap.length > 0) countSkip(skips, 'over-cap', overCap.length);

  const oursByKey = new Map<string, DefenderIndicator>();
  const deletes: ReconciliationPlan['deletes'] = [];
  for (const indicator of [...ours].sort((a, b) => a.id.localeCompare(b.id))) {
    const key = indicatorKey(indicator.indicatorType, indicator.indicatorValue);
    if (oursByKey.has(key)) deletes.push({ id: indicator.id, expired: !isActiveIn(indicator, now) });
    else oursByKey.set(key, indicator);
  }
  const creates: DesiredIndicator[] = [];
  const updates: DesiredIndicator[] = [];
  let unchanged = 0;
  const keptKeys = new Set<string>();
  for (const indicator of kept) {
    const key = indicatorKey(indicator.indicatorType, indicator.indicatorValue);
    keptKeys.add(key);
    const existing = oursByKey.get(key);
    if (!existing) creates.push(indicator);
    else if (differs(existing, indicator)) updates.push(indicator);
    else unchanged += 1;
  }
  for (const [key, indicator] of oursByKey) {
    if (!keptKeys.has(key)) deletes.push({ id: indicator.id, expired: !isActiveIn(indicator, now) });
  }
  // Expired ones first: they free room under the cap and are the cleanup the sync promises.
  deletes.sort((a, b) => Number(b.expired) - Number(a.expired) || a.id.localeCompare(b.id));
  return {
    summary: {
      feedIndicators: feed.length,
      selected: kept.length,
      toCreate: creates.length,
      toUpdate: updates.length,
      toDeleteExpired: deletes.filter((entry) => entry.expired).length,
      toDeleteGone: deletes.filter((entry) => !entry.expired).length,
      unchanged,
      skipped: skips,
      othersActive,
      overCap: {
        count: overCap.length,
        examples: overCap.slice(0, 5).map((indicator) => `${indicator.indicatorType}:${indicator.indicatorValue}`),
      },
    },
    creates,
    updates,
    deletes,
  };
}

/**
 * The plan as batches within Defender's limit: deletes first (they make room under the cap), then updates,
 * then creates in priority order. At most `maxBatches`, so a round's payload stays small whatever the feed's size.
 */
export function planBatches(
  plan: ReconciliationPlan,
  maxBatches: number,
  batchSize = DEFENDER_BATCH_LIMIT,
): { batches: TiSyncBatch[]; more: boolean } {
  const batches: TiSyncBatch[] = [];
  for (let start = 0; start < plan.deletes.length; start += batchSize) {
    const slice = plan.deletes.slice(start, start + batchSize);
    batches.push({ kind: 'delete', expired: slice.filter((entry) => entry.expired).length, ids: slice.map((entry) => entry.id) });
  }
  const writes = [
    ...plan.updates.map((indicator) => ({ indicator, create: false })),
    ...plan.creates.map((indicator) => ({ indicator, create: true })),
  ];
  for (let start = 0; start < writes.length; start += batchSize) {
    const slice = writes.slice(start, start + batchSize);
    batches.push({
      kind: 'import',
      creates: slice.filter((entry) => entry.create).length,
      indicators: slice.map((entry) => entry.indicator),
    });
  }
  return { batches: batches.slice(0, maxBatches), more: batches.length > maxBatches };
}

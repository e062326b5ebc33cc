/**
 * Types of the threat-intelligence sync (Sentinel's ThreatIntelIndicators → Defender for Endpoint indicators)
 * shared by the workflow, its activities, the worker's schedule and the CLI.
 */

/** The Defender indicator types the sync writes (MD5 and SHA-1 are dropped on purpose; certificates are not in feeds). */
export const SYNCED_INDICATOR_TYPES = ['IpAddress', 'DomainName', 'Url', 'FileSha256'] as const;
export type SyncedIndicatorType = (typeof SYNCED_INDICATOR_TYPES)[number];

/** Defender's indicator actions; `BlockAndRemediate` applies to files only. */
export const DEFENDER_ACTIONS = ['Audit', 'Warn', 'Block', 'Allowed', 'BlockAndRemediate'] as const;
export type DefenderAction = (typeof DEFENDER_ACTIONS)[number];

/** Which actions Defender accepts for which indicator type. */
export const ACTIONS_BY_TYPE: Readonly<Record<SyncedIndicatorType, readonly DefenderAction[]>> = {
  IpAddress: ['Audit', 'Warn', 'Block', 'Allowed'],
  DomainName: ['Audit', 'Warn', 'Block', 'Allowed'],
  Url: ['Audit', 'Warn', 'Block', 'Allowed'],
  FileSha256: ['Audit', 'Warn', 'Block', 'Allowed', 'BlockAndRemediate'],
};

/** Why a feed indicator is not (or no longer) in Defender. */
export const SKIP_REASONS = [
  'other-source',
  'inactive',
  'expired',
  'not-yet-valid',
  'low-confidence',
  'covered-by-microsoft',
  'weak-hash',
  'unsupported-type',
  'invalid-value',
  'duplicate',
  'held-by-others',
  'over-cap',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];
export type SkipCounts = Partial<Record<SkipReason, number>>;

/** One configured sync: a feed of a workspace into the tenant's Defender indicators. Carried by its schedule. */
export interface TiSyncSettings {
  /** Stable id of the sync (schedule id suffix, metrics label). */
  syncId: string;
  /** Log Analytics workspace id (GUID) of the Sentinel workspace. */
  workspaceId: string;
  /** `SourceSystem` of the feed's indicators (the TAXII connector's friendly name). */
  feedName: string;
  actions: Readonly<Record<SyncedIndicatorType, DefenderAction>>;
  /** Indicators below this confidence (0–100) are skipped. */
  minConfidence: number;
  /** `SourceSystem` values of Microsoft's own feeds: an indicator they hold is left to them. */
  microsoftSources: readonly string[];
  /** Active indicators the tenant may hold, all sources together (Defender: 15,000). */
  tenantCap: number;
  /** Written in each indicator's `application` field: how the sync recognises its own indicators. */
  application: string;
  /** How far back the query reads ThreatIntelIndicators (ms). */
  lookbackMs: number;
}

export interface TiSyncInput {
  settings: TiSyncSettings;
  /** Plan only: read both sides, report what would change, write nothing. */
  dryRun?: boolean;
}

/** An indicator as the sync wants it in Defender (keyed by type and value). */
export interface DesiredIndicator {
  indicatorType: SyncedIndicatorType;
  indicatorValue: string;
  action: DefenderAction;
  title: string;
  description: string;
  /** ISO time; absent: no expiry. */
  expirationTime?: string;
  application: string;
  confidence: number;
  /** When the feed last changed it (ISO), for "newest first" under the cap. */
  updatedAt: string;
}

/** One idempotent write: an import (create or update, Defender upserts by type and value) or a batch delete. */
export type TiSyncBatch =
  { kind: 'import'; creates: number; indicators: DesiredIndicator[] } | { kind: 'delete'; expired: number; ids: string[] };

/** API calls made and 429 answers received, per API. */
export interface TiSyncCallStats {
  logAnalyticsCalls: number;
  defenderCalls: number;
  throttled: number;
}

export interface TiSyncPlanSummary {
  /** Rows of the feed read from the workspace (latest per indicator). */
  feedIndicators: number;
  selected: number;
  toCreate: number;
  toUpdate: number;
  toDeleteExpired: number;
  toDeleteGone: number;
  unchanged: number;
  skipped: SkipCounts;
  /** Others' active indicators in the tenant, counted against the cap. */
  othersActive: number;
  /** Selected indicators left out by the cap (lowest confidence, oldest first); a few values as examples. */
  overCap: { count: number; examples: string[] };
}

export interface TiSyncPlanRound {
  summary: TiSyncPlanSummary;
  /** The next batches to apply (bounded per round so no payload grows with the feed). */
  batches: TiSyncBatch[];
  /** Whether more batches remain after these. */
  more: boolean;
  calls: TiSyncCallStats;
}

export interface TiSyncApplyResult {
  created: number;
  updated: number;
  deleted: number;
  /** Items Defender refused, by its reason (e.g. the tenant cap). */
  failed: number;
  failureReasons: string[];
  calls: TiSyncCallStats;
}

export interface TiSyncResult {
  syncId: string;
  feedName: string;
  dryRun: boolean;
  /** `complete`: Defender equals the selection; `incomplete`: rounds ran out or a round changed nothing. */
  outcome: 'complete' | 'incomplete' | 'dry-run';
  plan: TiSyncPlanSummary;
  created: number;
  updated: number;
  deleted: number;
  failed: number;
  failureReasons: string[];
  rounds: number;
  calls: TiSyncCallStats;
  startedAt: string;
  finishedAt: string;
}

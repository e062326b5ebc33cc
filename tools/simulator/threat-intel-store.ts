import { randomUUID } from 'node:crypto';
import type { FeedQueryParameters } from '../../src/clients/threat-intel-client';

/** One row of the simulated ThreatIntelIndicators table (the STIX-shaped table Sentinel writes). */
export interface ThreatIntelRow {
  Id: string;
  ObservableKey: string;
  ObservableValue: string;
  Confidence: number;
  SourceSystem: string;
  IsActive: boolean;
  IsDeleted: boolean;
  ValidFrom?: string;
  ValidUntil?: string;
  LastUpdateTime: string;
  TimeGenerated: string;
  Data: { name?: string; description?: string };
}

export type ThreatIntelRowInput = Partial<ThreatIntelRow> & Pick<ThreatIntelRow, 'ObservableKey' | 'ObservableValue' | 'SourceSystem'>;

/** The columns, in order, of the sync's query result (see feedQuery). */
export const FEED_RESULT_COLUMNS = [
  ['Id', 'string'],
  ['ObservableKey', 'string'],
  ['ObservableValue', 'string'],
  ['Confidence', 'int'],
  ['SourceSystem', 'string'],
  ['IsActive', 'bool'],
  ['IsDeleted', 'bool'],
  ['ValidFrom', 'datetime'],
  ['ValidUntil', 'datetime'],
  ['LastUpdateTime', 'datetime'],
  ['Name', 'string'],
  ['Description', 'string'],
  ['CoveredByMicrosoft', 'bool'],
] as const;

/**
 * The ThreatIntelIndicators table of each simulated workspace (by workspace id). Rows are versions: adding a
 * row with an existing Id and a later LastUpdateTime is how Sentinel records an update, an expiry or a deletion.
 */
export class ThreatIntelStore {
  private readonly rows = new Map<string, ThreatIntelRow[]>();
  readonly queries: Array<{ workspaceId: string; at: Date; rows: number }> = [];

  constructor(readonly defaultWorkspaceId: string) {}

  addRows(workspaceId: string, inputs: readonly ThreatIntelRowInput[]): ThreatIntelRow[] {
    const table = this.rows.get(workspaceId) ?? [];
    const now = new Date().toISOString();
    const added = inputs.map((input) => ({
      Id: input.Id ?? `indicator--${randomUUID()}`,
      ObservableKey: input.ObservableKey,
      ObservableValue: input.ObservableValue,
      Confidence: input.Confidence ?? 100,
      SourceSystem: input.SourceSystem,
      IsActive: input.IsActive ?? true,
      IsDeleted: input.IsDeleted ?? false,
      ValidFrom: input.ValidFrom ?? now,
      ValidUntil: input.ValidUntil,
      LastUpdateTime: input.LastUpdateTime ?? now,
      TimeGenerated: input.TimeGenerated ?? now,
      Data: input.Data ?? {},
    }));
    table.push(...added);
    this.rows.set(workspaceId, table);
    return added;
  }

  /** The default workspace, and any that has rows. */
  hasWorkspace(workspaceId: string): boolean {
    return workspaceId === this.defaultWorkspaceId || this.rows.has(workspaceId);
  }

  allRows(workspaceId: string = this.defaultWorkspaceId): ThreatIntelRow[] {
    return [...(this.rows.get(workspaceId) ?? [])];
  }

  clear(): void {
    this.rows.clear();
  }

  /** Evaluates the sync's query (the only KQL this simulator understands) over rows generated in the timespan. */
  runFeedQuery(workspaceId: string, query: FeedQueryParameters, since: number, now = Date.now()): unknown[][] {
    const rows = (this.rows.get(workspaceId) ?? []).filter((row) => Date.parse(row.TimeGenerated) >= since);
    const latest = (candidates: ThreatIntelRow[], key: (row: ThreatIntelRow) => string) => {
      const byKey = new Map<string, ThreatIntelRow>();
      for (const row of candidates) {
        const existing = byKey.get(key(row));
        if (!existing || Date.parse(row.LastUpdateTime) >= Date.parse(existing.LastUpdateTime)) byKey.set(key(row), row);
      }
      return [...byKey.values()];
    };
    const observable = (row: ThreatIntelRow) => `${row.ObservableKey}\u0000${row.ObservableValue}`;
    const covered = new Set(
      latest(
        rows.filter((row) => query.microsoftSources.includes(row.SourceSystem)),
        observable,
      )
        .filter((row) => row.IsActive && !row.IsDeleted && (!row.ValidUntil || Date.parse(row.ValidUntil) > now))
        .map(observable),
    );
    const page = latest(
      rows.filter((row) => row.SourceSystem === query.feedName),
      (row) => row.Id,
    )
      .filter((row) => row.Id > query.afterId)
      .sort((a, b) => (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0))
      .slice(0, query.pageSize);
    this.queries.push({ workspaceId, at: new Date(now), rows: page.length });
    return page.map((row) => [
      row.Id,
      row.ObservableKey,
      row.ObservableValue,
      row.Confidence,
      row.SourceSystem,
      row.IsActive,
      row.IsDeleted,
      row.ValidFrom ?? null,
      row.ValidUntil ?? null,
      row.LastUpdateTime,
      row.Data.name ?? '',
      row.Data.description ?? '',
      covered.has(observable(row)),
    ]);
  }
}

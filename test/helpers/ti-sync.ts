import { loadWorkerConfig } from '../../src/config/worker';
import type { TiSyncSettings } from '../../src/shared/ti-sync';
import type { RunningSimulator, ThreatIntelRowInput } from '../../tools/simulator';

export const TI_FEED = 'baseVISION-SOC-TI-Feed';
export const MICROSOFT_SOURCE = 'Microsoft Defender Threat Intelligence';
export const SHA256 = (n: number) => n.toString(16).padStart(64, 'a');

/** The settings of the stack's (only) sync, as its worker and schedule have them. */
export function stackSync(env: Record<string, string>): TiSyncSettings {
  const sync = loadWorkerConfig(env).tiSync?.syncs[0];
  if (!sync) throw new Error('the stack has no TI sync configured (TI_SYNC_FEEDS)');
  return sync;
}

const inAMonth = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

/** `count` IPv4 indicators of the feed, confidence 100, valid for a month. */
export function ipRows(count: number, prefix = '10.20', overrides: Partial<ThreatIntelRowInput> = {}): ThreatIntelRowInput[] {
  return Array.from({ length: count }, (_, index) => ({
    Id: `indicator--${prefix}-${String(index).padStart(6, '0')}`,
    ObservableKey: 'ipv4-addr:value',
    ObservableValue: `${prefix}.${Math.floor(index / 250)}.${(index % 250) + 1}`,
    SourceSystem: TI_FEED,
    Confidence: 100,
    ValidUntil: inAMonth(),
    ...overrides,
  }));
}

/** A feed with one of each case the selection rules decide on. */
export function mixedRows(): ThreatIntelRowInput[] {
  const valid = { SourceSystem: TI_FEED, Confidence: 100, ValidUntil: inAMonth() };
  return [
    { ...valid, Id: 'indicator--ip', ObservableKey: 'ipv4-addr:value', ObservableValue: '198.51.100.7', Data: { name: 'C2 server' } },
    { ...valid, Id: 'indicator--ip6', ObservableKey: 'ipv6-addr:value', ObservableValue: '2001:db8::7' },
    { ...valid, Id: 'indicator--domain', ObservableKey: 'domain-name:value', ObservableValue: 'evil.example.net' },
    { ...valid, Id: 'indicator--url', ObservableKey: 'url:value', ObservableValue: 'https://evil.example.net/drop' },
    { ...valid, Id: 'indicator--sha256', ObservableKey: "file:hashes.'SHA-256'", ObservableValue: SHA256(1) },
    { ...valid, Id: 'indicator--md5', ObservableKey: "file:hashes.'MD5'", ObservableValue: 'd41d8cd98f00b204e9800998ecf8427e' },
    { ...valid, Id: 'indicator--sha1', ObservableKey: "file:hashes.'SHA-1'", ObservableValue: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
    { ...valid, Id: 'indicator--email', ObservableKey: 'email-addr:value', ObservableValue: 'phish@example.net' },
    { ...valid, Id: 'indicator--low', ObservableKey: 'ipv4-addr:value', ObservableValue: '198.51.100.8', Confidence: 80 },
    {
      ...valid,
      Id: 'indicator--expired',
      ObservableKey: 'ipv4-addr:value',
      ObservableValue: '198.51.100.9',
      ValidUntil: '2026-01-01T00:00:00Z',
    },
    { ...valid, Id: 'indicator--ms', ObservableKey: 'domain-name:value', ObservableValue: 'known.example.org' },
    {
      ...valid,
      Id: 'indicator--ms-copy',
      ObservableKey: 'domain-name:value',
      ObservableValue: 'known.example.org',
      SourceSystem: MICROSOFT_SOURCE,
    },
    {
      ...valid,
      Id: 'indicator--other-feed',
      ObservableKey: 'ipv4-addr:value',
      ObservableValue: '198.51.100.10',
      SourceSystem: 'Some other feed',
    },
  ];
}

export function seedFeed(simulator: RunningSimulator, rows: ThreatIntelRowInput[]): void {
  simulator.threatIntel.addRows(simulator.threatIntel.defaultWorkspaceId, rows);
}

/** (type, value) pairs Defender holds for an application, sorted. */
export function heldBy(simulator: RunningSimulator, application: string): string[] {
  return simulator.defender
    .list()
    .filter((indicator) => indicator.application === application)
    .map((indicator) => `${indicator.indicatorType}:${indicator.indicatorValue}`)
    .sort();
}

/** Creations per (type, value) in Defender's audit log: more than one means a duplicate was made. */
export function creationsByValue(simulator: RunningSimulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of simulator.defender.audit) {
    if (entry.operation !== 'create') continue;
    const key = `${entry.indicatorType}:${entry.indicatorValue}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

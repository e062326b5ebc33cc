import { isIP } from 'node:net';
import type { DesiredIndicator, SkipCounts, SkipReason, SyncedIndicatorType, TiSyncSettings } from '../shared/ti-sync';
import type { FeedIndicator } from './records';

/**
 * Which feed indicators belong in Defender, and as what. Pure: the same rows, settings and time give the
 * same selection, so a dry run shows exactly what a run would do.
 */

export type ObservableMapping = { type: SyncedIndicatorType; value: string } | { skip: SkipReason };

const HASH_KEY = /^file:hashes\.(?:'([^']+)'|"([^"]+)"|([A-Za-z0-9-]+))$/;
const WEAK_HASHES = new Set(['md5', 'sha-1', 'sha1']);
const SHA256 = /^[0-9a-f]{64}$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** Maps a STIX observable to a Defender indicator type and its normalised value, or says why it cannot be one. */
export function mapObservable(key: string, rawValue: string): ObservableMapping {
  const value = rawValue.trim();
  const normalisedKey = key.trim().toLowerCase();
  switch (normalisedKey) {
    case 'ipv4-addr:value':
    case 'ipv6-addr:value': {
      // Defender takes single addresses only, no CIDR ranges.
      const expected = normalisedKey === 'ipv4-addr:value' ? 4 : 6;
      return isIP(value) === expected ? { type: 'IpAddress', value: value.toLowerCase() } : { skip: 'invalid-value' };
    }
    case 'domain-name:value': {
      const domain = value.toLowerCase().replace(/\.$/, '');
      return DOMAIN.test(domain) ? { type: 'DomainName', value: domain } : { skip: 'invalid-value' };
    }
    case 'url:value': {
      try {
        const url = new URL(value);
        return url.protocol === 'http:' || url.protocol === 'https:' ? { type: 'Url', value } : { skip: 'invalid-value' };
      } catch {
        return { skip: 'invalid-value' };
      }
    }
  }
  const hash = HASH_KEY.exec(key.trim());
  if (hash) {
    const algorithm = (hash[1] ?? hash[2] ?? hash[3] ?? '').toLowerCase();
    if (WEAK_HASHES.has(algorithm)) return { skip: 'weak-hash' };
    if (algorithm === 'sha-256' || algorithm === 'sha256') {
      const digest = value.toLowerCase();
      return SHA256.test(digest) ? { type: 'FileSha256', value: digest } : { skip: 'invalid-value' };
    }
  }
  // e-mail addresses, SHA-512, registry keys, mutexes...: Defender has no indicator type for them.
  return { skip: 'unsupported-type' };
}

/** Type and value, case-insensitively: how Defender matches an indicator (and how the plan pairs both sides). */
export function indicatorKey(type: string, value: string): string {
  return `${type}|${value.toLowerCase()}`;
}

export interface Selection {
  /** Deduplicated, not yet capped, in priority order (most confident, then newest first). */
  selected: DesiredIndicator[];
  skipped: SkipCounts;
}

export function countSkip(counts: SkipCounts, reason: SkipReason, by = 1): void {
  counts[reason] = (counts[reason] ?? 0) + by;
}

/** Highest confidence first, then the most recently updated, then by key so ties are ordered the same every run. */
export function byPriority(a: DesiredIndicator, b: DesiredIndicator): number {
  return (
    b.confidence - a.confidence ||
    Date.parse(b.updatedAt) - Date.parse(a.updatedAt) ||
    indicatorKey(a.indicatorType, a.indicatorValue).localeCompare(indicatorKey(b.indicatorType, b.indicatorValue))
  );
}

export function selectIndicators(rows: readonly FeedIndicator[], settings: TiSyncSettings, now: number): Selection {
  const skipped: SkipCounts = {};
  const candidates: DesiredIndicator[] = [];
  for (const row of rows) {
    const reason = ruleOut(row, settings, now);
    if (reason) {
      countSkip(skipped, reason);
      continue;
    }
    const mapped = mapObservable(row.observableKey, row.observableValue);
    if ('skip' in mapped) {
      countSkip(skipped, mapped.skip);
      continue;
    }
    candidates.push({
      indicatorType: mapped.type,
      indicatorValue: mapped.value,
      action: settings.actions[mapped.type],
      title: truncate(`${settings.feedName}: ${row.name?.trim() || mapped.value}`, 200),
      description: truncate(
        row.description?.trim() ||
          `Indicator ${row.id} of the threat-intelligence feed ${settings.feedName} (confidence ${row.confidence}).`,
        1000,
      ),
      ...(row.validUntil ? { expirationTime: new Date(row.validUntil).toISOString() } : {}),
      application: settings.application,
      confidence: row.confidence,
      updatedAt: new Date(row.lastUpdated).toISOString(),
    });
  }
  candidates.sort(byPriority);
  const seen = new Set<string>();
  const selected: DesiredIndicator[] = [];
  for (const candidate of candidates) {
    const key = indicatorKey(candidate.indicatorType, candidate.indicatorValue);
    if (seen.has(key)) {
      countSkip(skipped, 'duplicate');
      continue;
    }
    seen.add(key);
    selected.push(candidate);
  }
  return { selected, skipped };
}

function ruleOut(row: FeedIndicator, settings: TiSyncSettings, now: number): SkipReason | undefined {
  if (row.sourceSystem !== settings.feedName) return 'other-source';
  if (!row.isActive || row.isDeleted) return 'inactive';
  if (row.validUntil && Date.parse(row.validUntil) <= now) return 'expired';
  if (row.validFrom && Date.parse(row.validFrom) > now) return 'not-yet-valid';
  if (!(row.confidence >= settings.minConfidence)) return 'low-confidence';
  if (row.coveredByMicrosoft) return 'covered-by-microsoft';
  return undefined;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Small, dependency-free statistics and formatting helpers for `npm run bench`. */

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : Number.NaN),
    mean: round(sorted.length ? sum / sorted.length : Number.NaN),
  };
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * ARM's per-subscription-and-principal token buckets, as Microsoft documents them ("Understand how Azure Resource
 * Manager throttles requests").
 */
export const ARM_WRITE_BUCKET = { size: 200, refillPerSecond: 10 } as const;
export const ARM_READ_BUCKET = { size: 250, refillPerSecond: 25 } as const;

export interface TokenBucket {
  size: number;
  refillPerSecond: number;
}

/** How fast calls were made, and what a token bucket would have made of them. */
export interface CallRateReport {
  calls: number;
  /** Most calls that fell into one wall-clock second (a short burst shows here). */
  peakPerSecond: number;
  /** Most calls in any 10 s sliding window, divided by 10: the sustained rate. */
  peak10sPerSecond: number;
  /** Calls per second averaged over the span from the first to the last call. */
  meanPerSecond: number;
  /** The bucket replayed, when one was given. */
  bucket?: TokenBucket;
  /** Calls the bucket would have refused (HTTP 429) had they gone to the real service. */
  wouldBeThrottled?: number;
  /** Milliseconds from the first call until the bucket would have been empty, when it would have been. */
  bucketEmptyAfterMs?: number;
}

/** Counts calls per second (and per 10 s window) and replays them against a token bucket (full at the first call). */
export function callRate(timestampsMs: readonly number[], bucket?: TokenBucket): CallRateReport {
  const times = [...timestampsMs].sort((a, b) => a - b);
  if (times.length === 0)
    return { calls: 0, peakPerSecond: 0, peak10sPerSecond: 0, meanPerSecond: 0, ...(bucket ? { bucket, wouldBeThrottled: 0 } : {}) };
  const perSecond = new Map<number, number>();
  for (const time of times) {
    const second = Math.floor(time / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  let peak10s = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last] - times[first] >= 10_000) first++;
    peak10s = Math.max(peak10s, last - first + 1);
  }
  const spanSeconds = Math.max(1, (times[times.length - 1] - times[0]) / 1000);
  const report: CallRateReport = {
    calls: times.length,
    peakPerSecond: Math.max(...perSecond.values()),
    // A span shorter than 10 s is averaged over 10 s all the same: a short burst is not a sustained rate.
    peak10sPerSecond: round(peak10s / 10),
    meanPerSecond: round(times.length / spanSeconds),
  };
  if (!bucket) return report;
  let tokens = bucket.size;
  let previous = times[0];
  let throttled = 0;
  let emptyAt: number | undefined;
  for (const time of times) {
    tokens = Math.min(bucket.size, tokens + ((time - previous) / 1000) * bucket.refillPerSecond);
    previous = time;
    if (tokens >= 1) {
      tokens -= 1;
    } else {
      throttled += 1;
      emptyAt ??= time;
    }
  }
  return {
    ...report,
    bucket,
    wouldBeThrottled: throttled,
    ...(emptyAt !== undefined ? { bucketEmptyAfterMs: Math.round(emptyAt - times[0]) } : {}),
  };
}

export interface TableRow {
  figure: string;
  value: string;
  goal?: string;
  verdict?: string;
}

/** A plain-text table: figure | value | goal | verdict. */
export function formatTable(rows: readonly TableRow[]): string {
  const headers = ['figure', 'value', 'goal', 'verdict'] as const;
  const cells = rows.map((row) => [row.figure, row.value, row.goal ?? '', row.verdict ?? '']);
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((cell) => cell[column].length)));
  const line = (values: readonly string[]) => `| ${values.map((value, column) => value.padEnd(widths[column])).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(headers), rule, ...cells.map(line)].join('\n');
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${round(value)} ms` : 'n/a';
}

export function mb(bytes: number): string {
  return `${round(bytes / (1024 * 1024))} MB`;
}

/** A difference in MB with its sign: +12.3 MB, −4.5 MB. */
export function signedMb(bytes: number): string {
  return `${bytes < 0 ? '−' : '+'}${mb(Math.abs(bytes))}`;
}

export function latencyText(summary: LatencySummary): string {
  if (summary.count === 0) return 'no samples';
  return `p50 ${ms(summary.p50)} / p95 ${ms(summary.p95)} / p99 ${ms(summary.p99)} (max ${ms(summary.max)}, n=${summary.count})`;
}

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

/** ARM's documented per-subscription-and-principal token bucket for writes (see shared/reference/external-apis.md). */
export const ARM_WRITE_BUCKET = { size: 200, refillPerSecond: 10 } as const;

export interface WriteRateReport {
  writes: number;
  /** Most writes that fell into one wall-clock second. */
  peakPerSecond: number;
  /** Writes per second averaged over the span from the first to the last write. */
  meanPerSecond: number;
  /** Writes a bucket of ARM's size and refill would have refused (HTTP 429) had the calls gone to real ARM. */
  wouldBeThrottled: number;
  /** Milliseconds from the first write until the bucket would have been empty, when it would have been. */
  bucketEmptyAfterMs?: number;
}

/** Counts writes per second and replays them against a token bucket (full at the first write). */
export function armWriteRate(timestampsMs: readonly number[], bucket: { size: number; refillPerSecond: number } = ARM_WRITE_BUCKET): WriteRateReport {
  const times = [...timestampsMs].sort((a, b) => a - b);
  if (times.length === 0) return { writes: 0, peakPerSecond: 0, meanPerSecond: 0, wouldBeThrottled: 0 };
  const perSecond = new Map<number, number>();
  for (const time of times) {
    const second = Math.floor(time / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  let tokens = bucket.size;
  let last = times[0];
  let throttled = 0;
  let emptyAt: number | undefined;
  for (const time of times) {
    tokens = Math.min(bucket.size, tokens + ((time - last) / 1000) * bucket.refillPerSecond);
    last = time;
    if (tokens >= 1) {
      tokens -= 1;
    } else {
      throttled += 1;
      emptyAt ??= time;
    }
  }
  const spanSeconds = Math.max(1, (times[times.length - 1] - times[0]) / 1000);
  return {
    writes: times.length,
    peakPerSecond: Math.max(...perSecond.values()),
    meanPerSecond: round(times.length / spanSeconds),
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

export function latencyText(summary: LatencySummary): string {
  if (summary.count === 0) return 'no samples';
  return `p50 ${ms(summary.p50)} / p95 ${ms(summary.p95)} / p99 ${ms(summary.p99)} (max ${ms(summary.max)}, n=${summary.count})`;
}

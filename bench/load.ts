/** Load generators for the bench: every loop is bounded in count and in time and stops by itself. */

export interface LoadErrors {
  count: number;
  /** The first few messages, for the report. */
  samples: string[];
}

export function newErrors(): LoadErrors {
  return { count: 0, samples: [] };
}

export function recordError(errors: LoadErrors, error: unknown): void {
  errors.count += 1;
  if (errors.samples.length < 5) errors.samples.push((error as Error)?.message ?? String(error));
}

/**
 * Runs `task(i)` for i in [0, count) with at most `concurrency` in flight (closed loop). Stops starting new
 * tasks at `deadline` (epoch ms); tasks already running are awaited (each must bound itself).
 * Returns how many tasks were started.
 */
export async function runPool(
  count: number,
  concurrency: number,
  deadline: number,
  task: (index: number) => Promise<void>,
): Promise<{ started: number; stoppedByDeadline: boolean }> {
  let next = 0;
  let stoppedByDeadline = false;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) {
      if (Date.now() >= deadline) {
        stoppedByDeadline = true;
        return;
      }
      const index = next++;
      await task(index);
    }
  });
  await Promise.all(lanes);
  return { started: next, stoppedByDeadline };
}

export interface PacedResult {
  issued: number;
  /** Tasks not issued because `maxInFlight` were already running (the system fell behind). */
  skipped: number;
  /** Worst delay between a task's scheduled time and its actual start (the bench shares the event loop). */
  maxStartLagMs: number;
  /** Wall time from the first scheduled start to the last task's end. */
  elapsedMs: number;
}

/**
 * Open loop: starts task i at `start + i / rate` seconds for `durationMs`, whatever earlier tasks are doing,
 * up to `maxInFlight` at once. Then waits for the tasks in flight (each must bound itself).
 */
export async function runPaced(
  ratePerSecond: number,
  durationMs: number,
  maxInFlight: number,
  task: (index: number) => Promise<void>,
): Promise<PacedResult> {
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSecond;
  const start = performance.now();
  const running = new Set<Promise<void>>();
  let issued = 0;
  let skipped = 0;
  let maxStartLagMs = 0;
  for (let index = 0; index < total; index++) {
    const due = start + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    maxStartLagMs = Math.max(maxStartLagMs, performance.now() - due);
    if (running.size >= maxInFlight) {
      skipped += 1;
      continue;
    }
    issued += 1;
    const promise: Promise<void> = task(index).finally(() => running.delete(promise));
    running.add(promise);
  }
  await Promise.all(running);
  return { issued, skipped, maxStartLagMs, elapsedMs: performance.now() - start };
}

/** Epoch milliseconds with sub-millisecond resolution (comparable with Date.now() and Date#getTime()). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Rejects after `ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A limit of calls per window, e.g. 30 per minute. */
export interface RateLimit {
  calls: number;
  windowMs: number;
}

/**
 * Sliding-window call counting, as the Defender and Log Analytics APIs describe their limits ("30 calls per
 * minute and 1,500 per hour"): a call beyond any limit is refused with the seconds until a slot frees up.
 */
export class RateWindows {
  private readonly calls = new Map<string, number[]>();

  /** Records the call and returns 0, or returns how long to wait (ms) without recording it. */
  take(key: string, limits: readonly RateLimit[], now = Date.now()): number {
    const longest = Math.max(0, ...limits.map((limit) => limit.windowMs));
    const times = (this.calls.get(key) ?? []).filter((time) => time > now - longest);
    let wait = 0;
    for (const limit of limits) {
      const inWindow = times.filter((time) => time > now - limit.windowMs);
      if (inWindow.length >= limit.calls) wait = Math.max(wait, inWindow[inWindow.length - limit.calls] + limit.windowMs - now);
    }
    if (wait === 0) times.push(now);
    this.calls.set(key, times);
    return wait;
  }

  reset(): void {
    this.calls.clear();
  }
}

/** A call would have had to wait longer than its caller allows for its turn under a request budget. */
export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
  constructor(
    readonly budget: string,
    /** When a call would get its turn, from now. */
    readonly retryAfterMs: number,
  ) {
    super(`The ${budget} budget is spent; a call would wait ${Math.ceil(retryAfterMs / 1000)} s for its turn`);
  }
}

/**
 * A token bucket of the shape ARM documents for its own throttling (a capacity, refilled at a steady rate),
 * held in this process. A call takes a token at once while there are any; otherwise it reserves the next one
 * and waits for it, so waiting calls are served in the order they came. A call that would wait longer than
 * `maxWaitMs` reserves nothing and fails with BudgetExhaustedError.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly name: string,
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly clock: { now(): number; sleep(ms: number): Promise<void> } = {
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
  ) {
    if (!(capacity >= 1) || !(refillPerSecond > 0)) throw new Error(`${name}: capacity must be ≥ 1 and the refill rate > 0`);
    this.tokens = capacity;
    this.updatedAt = clock.now();
  }

  async take(maxWaitMs: number): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.refillPerSecond);
    this.updatedAt = now;
    // Negative tokens are reservations of callers already waiting.
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.refillPerSecond) * 1000;
    if (waitMs > maxWaitMs) throw new BudgetExhaustedError(this.name, waitMs);
    this.tokens -= 1;
    if (waitMs > 0) await this.clock.sleep(waitMs);
  }
}

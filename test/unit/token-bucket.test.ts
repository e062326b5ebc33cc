import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BudgetExhaustedError, TokenBucket } from '../../src/clients/token-bucket';

/** A clock that only moves when told to; `sleep` records how long each caller was asked to wait. */
function fakeClock() {
  const clock = {
    at: 0,
    waits: [] as number[],
    now: () => clock.at,
    sleep: async (ms: number) => {
      clock.waits.push(Math.round(ms));
    },
  };
  return clock;
}

describe('TokenBucket', () => {
  it('serves a burst up to its capacity at once, then one call per refill interval, in arrival order', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket('ARM reads', 3, 2, clock);
    for (let i = 0; i < 6; i++) await bucket.take(10_000);
    // 3 from the full bucket, then reservations 0.5 s apart at 2 tokens/s.
    assert.deepEqual(clock.waits, [500, 1000, 1500]);
  });

  it('refills with time, never beyond its capacity', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket('ARM reads', 2, 1, clock);
    await bucket.take(0);
    await bucket.take(0);
    clock.at += 60_000;
    await bucket.take(0);
    await bucket.take(0);
    await assert.rejects(bucket.take(0), BudgetExhaustedError);
    assert.deepEqual(clock.waits, []);
  });

  it('refuses a call that would wait longer than allowed, without taking its place in the queue', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket('ARM reads', 1, 1, clock);
    await bucket.take(0);
    await bucket.take(1_000);
    const refused = await bucket.take(1_500).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof BudgetExhaustedError);
    assert.equal(refused.retryAfterMs, 2_000);
    assert.match(refused.message, /ARM reads budget is spent; a call would wait 2 s/);
    // The refused call reserved nothing: the next one waits as long as it would have.
    await bucket.take(2_000);
    assert.deepEqual(clock.waits, [1_000, 2_000]);
  });

  it('rejects a bucket that could never serve', () => {
    assert.throws(() => new TokenBucket('x', 0, 1), /capacity must be ≥ 1/);
    assert.throws(() => new TokenBucket('x', 5, 0), /refill rate > 0/);
  });
});

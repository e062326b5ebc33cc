import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';

/** ARM's refill rates per subscription and principal (the buckets' documented shape). */
const REFILL_PER_SECOND = { reads: 25, writes: 10 } as const;
type Kind = keyof typeof REFILL_PER_SECOND;

/**
 * Below this many tokens left in ARM's bucket, calls are spaced at the bucket's refill rate, so a client
 * that shares its principal's budget with other workers or replicas slows down before ARM answers 429.
 */
export const ARM_LOW_WATER = 20;
const MAX_WAIT_MS = 10_000;

/**
 * Honours ARM's `x-ms-ratelimit-remaining-subscription-reads` / `-writes`: the header is ARM's own count for this
 * subscription and principal, whoever else spends it, so it is the one figure that holds across processes.
 * Each call reserves a token of the last known count (refilled since at ARM's rate); when the reservation
 * falls under ARM_LOW_WATER the call waits until the refill would have brought it back, which spaces
 * concurrent calls at the refill rate. A 429 that still comes is retried after its `Retry-After` by the SDK's
 * own throttling policy. One instance per subscription (the SDK client is per subscription).
 */
export function armRateLimitPolicy(now: () => number = Date.now): PipelinePolicy {
  const known: Partial<Record<Kind, { remaining: number; at: number }>> = {};
  const estimate = (kind: Kind): number | undefined => {
    const last = known[kind];
    return last && last.remaining + ((now() - last.at) / 1000) * REFILL_PER_SECOND[kind];
  };
  return {
    name: 'itdrArmRateLimit',
    async sendRequest(request, next) {
      const kind: Kind = request.method === 'PUT' || request.method === 'PATCH' || request.method === 'DELETE' ? 'writes' : 'reads';
      const expected = estimate(kind);
      if (expected !== undefined) {
        // Reserve this call's token, so concurrent calls queue up behind each other rather than all waiting alike.
        known[kind] = { remaining: expected - 1, at: now() };
        const waitMs = Math.min(MAX_WAIT_MS, ((ARM_LOW_WATER - (expected - 1)) / REFILL_PER_SECOND[kind]) * 1000);
        if (waitMs > 0) await sleep(waitMs, request.abortSignal);
      }
      const response = await next(request);
      const header = response.headers.get(`x-ms-ratelimit-remaining-subscription-${kind}`);
      const remaining = header === undefined ? NaN : Number(header);
      if (Number.isFinite(remaining)) known[kind] = { remaining, at: now() };
      return response;
    },
  };
}

function sleep(ms: number, signal: PipelineRequest['abortSignal']): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

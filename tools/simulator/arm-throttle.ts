/**
 * ARM's request throttling as Microsoft documents it (token bucket algorithm): per subscription and
 * principal, a bucket of 250 reads refilled at 25/s and one of 200 writes refilled at 10/s. Each answer
 * carries `x-ms-ratelimit-remaining-subscription-reads` / `-writes`; an empty bucket answers 429 with
 * `Retry-After` (seconds until a token is back) and changes nothing.
 */
export type ArmRequestKind = 'reads' | 'writes';

export interface BucketShape {
  capacity: number;
  refillPerSecond: number;
}

export const ARM_BUCKETS: Record<ArmRequestKind, BucketShape> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
};

export type ThrottleDecision = { ok: true; remaining: number } | { ok: false; remaining: 0; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class ArmThrottle {
  enabled: boolean;
  private readonly buckets = new Map<string, Bucket>();
  private readonly refused = new Map<string, number>();
  private readonly accepted = new Map<string, number>();

  constructor(
    options: { enabled?: boolean; shapes?: Partial<Record<ArmRequestKind, BucketShape>> } = {},
    private readonly now: () => number = Date.now,
  ) {
    this.enabled = options.enabled ?? true;
    this.shapes = { ...ARM_BUCKETS, ...options.shapes };
  }

  shapes: Record<ArmRequestKind, BucketShape>;

  /** Takes one token of `kind` from the (subscription, principal) bucket. */
  take(kind: ArmRequestKind, subscriptionId: string, principal: string): ThrottleDecision {
    const shape = this.shapes[kind];
    const key = `${kind}|${subscriptionId.toLowerCase()}|${principal}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: shape.capacity, updatedAt: now };
    bucket.tokens = Math.min(shape.capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * shape.refillPerSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (!this.enabled) {
      this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1);
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    if (bucket.tokens < 1) {
      this.refused.set(key, (this.refused.get(key) ?? 0) + 1);
      return { ok: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / shape.refillPerSecond)) };
    }
    bucket.tokens -= 1;
    this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1);
    return { ok: true, remaining: Math.floor(bucket.tokens) };
  }

  /** 429s answered so far, optionally of one kind and/or one subscription. */
  throttled(filter: { kind?: ArmRequestKind; subscriptionId?: string } = {}): number {
    return count(this.refused, filter);
  }

  /** Requests let through so far (reads or writes), optionally of one subscription. */
  served(filter: { kind?: ArmRequestKind; subscriptionId?: string } = {}): number {
    return count(this.accepted, filter);
  }

  /** Full buckets and no 429s counted: a fresh start for a test or a bench phase. */
  reset(): void {
    this.buckets.clear();
    this.refused.clear();
    this.accepted.clear();
  }
}

function count(counts: Map<string, number>, filter: { kind?: ArmRequestKind; subscriptionId?: string }): number {
  let total = 0;
  for (const [key, value] of counts) {
    const [kind, subscription] = key.split('|');
    if (filter.kind && kind !== filter.kind) continue;
    if (filter.subscriptionId && subscription !== filter.subscriptionId.toLowerCase()) continue;
    total += value;
  }
  return total;
}

/** Which bucket a request draws from: PUT, PATCH and DELETE write; GET and the POST list actions (entities, alerts) read. */
export function armRequestKind(method: string): ArmRequestKind {
  return method === 'PUT' || method === 'PATCH' || method === 'DELETE' ? 'writes' : 'reads';
}

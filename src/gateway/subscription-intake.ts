import { BudgetExhaustedError, TokenBucket } from '../clients/token-bucket';
import type { WorkspaceRef } from '../shared/types';
import type { GatewayConfig } from '../config/gateway';
import { HttpError } from './http-error';

/** GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE and GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION, as configured. */
export type SubscriptionIntakeShape = GatewayConfig['subscriptionIntake'];

/**
 * How many incidents each subscription (an MSSP's tenant) may bring in, checked before anything is read or
 * started for them. The per-subscription Sentinel queues keep one tenant's ARM writes from delaying another's,
 * but every admitted incident also costs the shared worker, gateway and Temporal server CPU: a tenant sending
 * beyond its share is refused at the door (429 with Retry-After, which the playbook's retry policy honours,
 * and a comment on the incident if it still is not taken), so its burst cannot slow other tenants' verdicts.
 *
 * A bucket per subscription, in this replica's memory, holding the whole share: a tenant's requests need not
 * spread evenly over the replicas, so N replicas admit up to N × the share (docs/scaling.md). The subscriptions
 * are the allow-listed ones (checked before), so the map is bounded.
 */
export class SubscriptionIntake {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly shape: SubscriptionIntakeShape,
    private readonly onRefused: (subscriptionId: string) => void = () => undefined,
  ) {}

  /** Takes one incident's token for `workspace`'s subscription, or throws a 429 HttpError naming when to retry. */
  async admit(workspace: WorkspaceRef): Promise<void> {
    const subscriptionId = workspace.subscriptionId.toLowerCase();
    let bucket = this.buckets.get(subscriptionId);
    if (!bucket) {
      bucket = new TokenBucket(`incident intake (subscription ${subscriptionId})`, this.shape.burst, this.shape.perMinute / 60);
      this.buckets.set(subscriptionId, bucket);
    }
    try {
      // Refused at once rather than held: a held request would keep the caller's connection and this
      // tenant's work would still arrive as fast as it is sent.
      await bucket.take(0);
    } catch (error) {
      if (!(error instanceof BudgetExhaustedError)) throw error;
      this.onRefused(subscriptionId);
      const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      throw new HttpError(
        429,
        'subscription_rate_limited',
        `Too many incidents from subscription ${subscriptionId} (${this.shape.perMinute} per minute, ${this.shape.burst} at once); ` +
          `nothing was started; retry after ${seconds} s`,
        { retryAfterSeconds: seconds, subscriptionId },
        { 'retry-after': String(seconds) },
      );
    }
  }
}

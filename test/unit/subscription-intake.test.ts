import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../src/gateway/http-error';
import { SubscriptionIntake } from '../../src/gateway/subscription-intake';

const workspace = (subscriptionId: string) => ({ subscriptionId, resourceGroup: 'rg', workspaceName: 'law' });

describe('SubscriptionIntake', () => {
  it('gives each subscription its own bucket, case-insensitively, and refuses beyond it with 429 and Retry-After', async () => {
    const refused: string[] = [];
    const intake = new SubscriptionIntake({ perMinute: 60, burst: 2 }, (subscriptionId) => refused.push(subscriptionId));
    await intake.admit(workspace('AAAA'));
    await intake.admit(workspace('aaaa'));
    const error = await intake.admit(workspace('aaaa')).then(
      () => assert.fail('a third incident at once was admitted'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 429);
    assert.equal(error.code, 'subscription_rate_limited');
    assert.equal(error.headers?.['retry-after'], '1');
    assert.deepEqual(error.details, { retryAfterSeconds: 1, subscriptionId: 'aaaa' });
    assert.deepEqual(refused, ['aaaa']);
    // Another subscription is untouched by the first one's burst.
    await intake.admit(workspace('bbbb'));
    await intake.admit(workspace('bbbb'));
  });
});

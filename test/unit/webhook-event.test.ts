import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWebhook } from '../../src/gateway/webhook-event';

const at = new Date('2026-11-25T10:00:00Z');

describe('parseWebhook', () => {
  it('reads the session webhook', () => {
    const parsed = parseWebhook(
      { eventType: 'SESSION_SUCCEEDED', interviewId: 'abc123', externalCustomerId: 'inc-1', loginHint: 'a@b.co' },
      at,
    );
    assert.deepEqual(parsed, {
      ok: true,
      value: {
        event: { eventType: 'SESSION_SUCCEEDED', interviewId: 'abc123', externalCustomerId: 'inc-1', receivedAt: at.toISOString() },
        wakesWorkflow: true,
      },
    });
  });

  it('accepts the older onboardingStatus / externalId spelling', () => {
    const parsed = parseWebhook({ onboardingStatus: 'ONBOARDING_FINISHED', interviewId: 'abc', externalId: 'inc-2' }, at);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.event.eventType, 'ONBOARDING_FINISHED');
    assert.equal(parsed.value.event.externalCustomerId, 'inc-2');
    assert.equal(parsed.value.wakesWorkflow, true);
  });

  it('acknowledges progress events without waking the workflow', () => {
    const parsed = parseWebhook({ eventType: 'SESSION_STARTED', externalCustomerId: 'inc-3' }, at);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.wakesWorkflow, false);
  });

  for (const [label, body] of [
    ['no event type', { interviewId: 'abc' }],
    ['no identifier', { eventType: 'SESSION_FAILED' }],
    ['an injected query in the interview id', { eventType: 'SESSION_FAILED', interviewId: "x' OR '1'='1" }],
    ['a number as event type', { eventType: 7, interviewId: 'abc' }],
    ['an array body', [1, 2]],
  ] as const) {
    it(`refuses ${label}`, () => {
      const parsed = parseWebhook(body, at);
      assert.equal(parsed.ok, false);
    });
  }
});

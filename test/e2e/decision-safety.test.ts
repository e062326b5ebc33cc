import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { statusQuery } from '../../src/shared/messages';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, OTHER_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Every combination of what an attacker or a lost message can vary, through the gateway on the real
 * server and simulator. Exactly one combination may close the incident.
 */
const AUTH = ['authenticated', 'unauthenticated'] as const;
const INTERVIEW = ['matching', 'other'] as const;
const INCODE = ['success', 'failure', 'pending', 'nothing'] as const;
const USER = ['same', 'other'] as const;
const WORKFLOW = ['waiting', 'ended'] as const;

interface Combination {
  auth: (typeof AUTH)[number];
  interview: (typeof INTERVIEW)[number];
  incode: (typeof INCODE)[number];
  user: (typeof USER)[number];
  workflow: (typeof WORKFLOW)[number];
}

const combinations: Combination[] = AUTH.flatMap((auth) =>
  INTERVIEW.flatMap((interview) =>
    INCODE.flatMap((incode) => USER.flatMap((user) => WORKFLOW.map((workflow) => ({ auth, interview, incode, user, workflow })))),
  ),
);

type Expected = 'closed' | 'escalated' | 'unchanged';

/** The rule under test, stated independently of the product code. */
function expected(c: Combination): Expected {
  const reachesWorkflow = c.auth === 'authenticated' && c.interview === 'matching' && c.workflow === 'waiting';
  if (!reachesWorkflow) return 'unchanged';
  if (c.incode === 'success') return c.user === 'same' ? 'closed' : 'escalated';
  if (c.incode === 'failure') return 'escalated';
  return 'unchanged';
}

describe('decision safety: only a confirmed success of the right user closes', () => {
  let stack: TestStack;
  const results: Array<{ combination: Combination; outcome: Expected }> = [];

  before(async () => {
    // Only webhooks trigger read-backs here (no polling within the test), and Incode's own webhooks are
    // dropped: each test sends the webhook it wants.
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' });
    stack.simulator.incode.dropWebhooks = true;
  });
  after(async () => {
    await stack?.stop();
  });

  async function run(c: Combination): Promise<Expected> {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({ title: JSON.stringify(c), severity: 'Medium', accounts: [{ accountName, upnSuffix }] });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { interviewId, workflowId } = started.body as { interviewId: string; workflowId: string };
    const handle = stack.client.workflow.getHandle(workflowId);

    if (c.incode !== 'nothing') {
      const outcome = c.incode === 'success' ? 'succeeded' : c.incode === 'failure' ? 'failed' : 'pending-review';
      await stack.simulator.incode.completeSession(interviewId, outcome, { verifiedLoginHint: c.user === 'other' ? OTHER_USER : undefined });
    }
    if (c.workflow === 'ended') await handle.terminate('ended before the webhook');

    const webhook = await stack.webhook(
      {
        eventType: 'SESSION_SUCCEEDED',
        interviewId: c.interview === 'matching' ? interviewId : randomBytes(12).toString('hex'),
        externalCustomerId: incident.name,
      },
      c.auth === 'authenticated' ? stack.webhookSecret : randomBytes(24).toString('base64url'),
    );
    assert.equal(webhook.status, c.auth === 'authenticated' ? 200 : 401);

    if (c.auth === 'authenticated' && c.workflow === 'waiting') {
      // Wait until the workflow has dealt with the event: ignored it, or read the session back.
      await eventually(async () => {
        const state = await handle.query(statusQuery);
        return c.interview === 'other' ? state.ignoredEvents === 1 : state.lastCheckedAt !== undefined;
      }, 15_000, `the workflow to handle the webhook for ${JSON.stringify(c)}`);
      if (expected(c) !== 'unchanged') await handle.result();
    }
    const current = stack.simulator.sentinel.getIncident(incident.name)!;
    if (c.workflow === 'waiting' && (await handle.describe()).status.name === 'RUNNING') await handle.terminate('test done');
    if (current.properties.status === 'Closed') return 'closed';
    if (current.properties.severity === 'High' && current.properties.status === 'Active') return 'escalated';
    assert.equal(current.properties.status, 'New');
    assert.equal(current.properties.severity, 'Medium');
    return 'unchanged';
  }

  it(`runs all ${combinations.length} combinations`, async () => {
    assert.equal(combinations.length, 64);
    const queue = [...combinations];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) results.push({ combination: c, outcome: await run(c) });
      }),
    );
    assert.equal(results.length, 64);
    for (const { combination, outcome } of results) {
      assert.equal(outcome, expected(combination), `combination ${JSON.stringify(combination)}`);
    }
  });

  it('closes for exactly one combination: authenticated, matching, confirmed success, same user, waiting', () => {
    const closing = results.filter((result) => result.outcome === 'closed').map((result) => result.combination);
    assert.deepEqual(closing, [{ auth: 'authenticated', interview: 'matching', incode: 'success', user: 'same', workflow: 'waiting' }]);
  });
});

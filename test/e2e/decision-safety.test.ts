import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { statusQuery } from '../../src/shared/messages';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, OTHER_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Every combination of what an attacker or a lost message can vary, through the gateway on the real
 * server and simulator. Exactly one combination may close the incident. The first table varies the
 * webhook, Incode's result and the workflow's state for a user who answered "This was me"; the second
 * varies whether Sentinel named the user and what they answered on the confirmation page.
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
    // A generous link deadline: 8 verifications start at once on a machine that may be busy.
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h', GATEWAY_LINK_DEADLINE: '90s' });
    stack.simulator.incode.dropWebhooks = true;
  });
  after(async () => {
    await stack?.stop();
  });

  async function run(c: Combination): Promise<Expected> {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: JSON.stringify(c),
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { interviewId, workflowId, verificationUrl } = started.body as {
      interviewId: string;
      workflowId: string;
      verificationUrl: string;
    };
    const handle = stack.client.workflow.getHandle(workflowId);
    // The user confirms the activity first, as every closing verification needs.
    assert.equal((await answerConfirmationPage(verificationUrl, 'was-me')).status, 303);

    if (c.incode !== 'nothing') {
      const outcome = c.incode === 'success' ? 'succeeded' : c.incode === 'failure' ? 'failed' : 'pending-review';
      await stack.simulator.incode.completeSession(interviewId, outcome, {
        verifiedLoginHint: c.user === 'other' ? OTHER_USER : undefined,
      });
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
      await eventually(
        async () => {
          const state = await handle.query(statusQuery);
          return c.interview === 'other' ? state.ignoredEvents === 1 : state.lastCheckedAt !== undefined;
        },
        60_000,
        `the workflow to handle the webhook for ${JSON.stringify(c)}`,
      );
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

  const SUBJECT = ['named by Sentinel', 'named by the caller only'] as const;
  const ANSWER = ['none', 'was-me', 'wasnt-me'] as const;
  interface Answered {
    subject: (typeof SUBJECT)[number];
    answer: (typeof ANSWER)[number];
    incode: (typeof INCODE)[number];
  }
  const answered: Answered[] = SUBJECT.flatMap((subject) =>
    ANSWER.flatMap((answer) => INCODE.map((incode) => ({ subject, answer, incode }))),
  );

  /** The rule for the second table, stated independently: a denial escalates, and only "was me" then success closes. */
  function expectedAnswered(c: Answered): Expected {
    if (c.subject !== 'named by Sentinel') return 'unchanged';
    if (c.answer === 'wasnt-me' || c.incode === 'failure') return 'escalated';
    return c.answer === 'was-me' && c.incode === 'success' ? 'closed' : 'unchanged';
  }

  async function runAnswered(c: Answered): Promise<Expected> {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: JSON.stringify(c),
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    // Not named: the caller names another user than the incident's; the gateway refuses and starts nothing,
    // and that user's Incode session for the incident (made elsewhere) reaches no verification.
    const userEmail = c.subject === 'named by Sentinel' ? DEMO_USER : OTHER_USER;
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail });
    let interviewId: string;
    let handle: ReturnType<typeof stack.client.workflow.getHandle> | undefined;
    if (c.subject === 'named by Sentinel') {
      assert.equal(started.status, 200, JSON.stringify(started.body));
      interviewId = started.body.interviewId;
      handle = stack.client.workflow.getHandle(started.body.workflowId);
      if (c.answer !== 'none') {
        const posted = await answerConfirmationPage(started.body.verificationUrl, c.answer);
        assert.equal(posted.status, c.answer === 'was-me' ? 303 : 200);
      }
    } else {
      assert.equal(started.status, 422);
      assert.equal(started.body.error.code, 'user_not_in_incident');
      interviewId = stack.simulator.incode.createSession({ loginHint: OTHER_USER, externalCustomerId: incident.name }).interviewId;
    }
    if (c.incode !== 'nothing') {
      const outcome = c.incode === 'success' ? 'succeeded' : c.incode === 'failure' ? 'failed' : 'pending-review';
      await stack.simulator.incode.completeSession(interviewId, outcome);
    }
    const webhook = await stack.webhook({ eventType: 'SESSION_SUCCEEDED', interviewId, externalCustomerId: incident.name });
    assert.equal(webhook.status, handle ? 200 : 404);
    if (handle) {
      if (expectedAnswered(c) !== 'unchanged') await handle.result();
      else {
        await eventually(
          async () => (await handle.query(statusQuery)).lastCheckedAt !== undefined,
          60_000,
          `the read-back for ${JSON.stringify(c)}`,
        );
        await handle.terminate('test done');
      }
    }
    const current = stack.simulator.sentinel.getIncident(incident.name)!;
    if (current.properties.status === 'Closed') return 'closed';
    if (current.properties.severity === 'High' && current.properties.status === 'Active') return 'escalated';
    assert.equal(current.properties.status, 'New');
    return 'unchanged';
  }

  it(`subject named or not × the user's answer × Incode's result: all ${answered.length} combinations, exactly one closes`, async () => {
    const outcomes: Array<{ combination: Answered; outcome: Expected }> = [];
    const queue = [...answered];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) outcomes.push({ combination: c, outcome: await runAnswered(c) });
      }),
    );
    for (const { combination, outcome } of outcomes) assert.equal(outcome, expectedAnswered(combination), JSON.stringify(combination));
    const closing = outcomes.filter((result) => result.outcome === 'closed').map((result) => result.combination);
    assert.deepEqual(closing, [{ subject: 'named by Sentinel', answer: 'was-me', incode: 'success' }]);
  });
});

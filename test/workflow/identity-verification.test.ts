import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { incodeTaskQueue, sentinelTaskQueue } from '../../src/shared/task-queues';
import { createVerificationWorker, type VerificationWorker } from '../../src/worker/create-worker';
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import {
  joinVerificationUpdate,
  resendLinkSignal,
  reviewDecisionUpdate,
  statusQuery,
  userAnswerUpdate,
  verificationLinkUpdate,
  verificationResultSignal,
  WORKFLOW_TYPE,
} from '../../src/shared/messages';
import { CLASSIFICATION_COMMENT_LIMIT } from '../../src/workflows/incident-actions';
import type { identityVerification } from '../../src/workflows';
import type { VerificationOutcome, VerificationRequest } from '../../src/shared/types';
import { connectTemporal, eventually, type TemporalTestContext } from '../helpers/temporal';
import { fakeActivities, TEST_SUBSCRIPTION_ID as SUBSCRIPTION, testRequest as request, type FakeWorld } from '../helpers/fake-activities';

describe('identityVerification workflow (real server, fake activities)', () => {
  let temporal: TemporalTestContext;
  let worker: VerificationWorker;
  let running: Promise<void>;
  const world: FakeWorld = { sessionState: new Map(), calls: [] };

  before(async () => {
    temporal = await connectTemporal('wf-test');
    worker = await createVerificationWorker({
      connection: temporal.nativeConnection,
      temporal: temporal.config,
      workflowBundle: temporal.bundle,
      activities: fakeActivities(world),
      tuning: { maxCachedWorkflows: 100, maxConcurrentActivities: 20, sentinelSubscriptions: [SUBSCRIPTION] },
    });
    running = worker.run();
  });

  after(async () => {
    worker.shutdown();
    await running;
    await temporal.close();
  });

  async function start(input: VerificationRequest) {
    const operation = new WithStartWorkflowOperation<typeof identityVerification>(WORKFLOW_TYPE, {
      workflowId: `wf-test-${input.incidentId}`,
      taskQueue: temporal.config.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const link = await temporal.client.workflow.executeUpdateWithStart(verificationLinkUpdate, { startWorkflowOperation: operation });
    const handle = await operation.workflowHandle();
    return { link, handle };
  }

  const answer = (handle: WorkflowHandle<typeof identityVerification>, given: 'was-me' | 'wasnt-me') =>
    handle.executeUpdate(userAnswerUpdate, {
      args: [
        {
          answer: given,
          user: 'alice@contoso.com',
          answeredAt: new Date().toISOString(),
          clientIp: '198.51.100.4',
          userAgent: 'test-browser/1.0',
        },
      ],
    });

  const callsFor = (incidentId: string, name: string) =>
    world.calls.filter((call) => call.name === name && JSON.stringify(call.input).includes(incidentId));

  it('closes the incident only after the user said "This was me" and Incode confirms success on read-back', async () => {
    const id = randomUUID();
    const { link, handle } = await start(request(id));
    assert.equal(link.kind, 'link');
    assert.equal(link.kind === 'link' && link.interviewId, `iv-${id}`);
    assert.equal(link.kind === 'link' && link.confirmationPage, true);
    const waiting = await handle.query(statusQuery);
    assert.equal(waiting.status, 'AwaitingUser');
    assert.equal(waiting.activities?.[0].ipAddresses[0], '203.0.113.7');
    const continued = await answer(handle, 'was-me');
    assert.deepEqual(continued, { kind: 'continue', verificationUrl: `https://incode.example/verify/iv-${id}` });

    world.sessionState.set(`iv-${id}`, 'Succeeded');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: `iv-${id}`,
      externalCustomerId: id,
      receivedAt: new Date().toISOString(),
    });
    const outcome: VerificationOutcome = await handle.result();

    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.incidentAction, 'Closed');
    assert.equal(outcome.confirmedBy, 'webhook+read-back');
    const [close] = callsFor(id, 'closeIncident');
    const closing = close.input as { classification: string; classificationReason: string; classificationComment: string };
    assert.deepEqual(
      { classification: closing.classification, reason: closing.classificationReason },
      { classification: 'FalsePositive', reason: 'IncorrectAlertLogic' },
    );
    assert.equal(callsFor(id, 'escalateIncident').length, 0);
    // Two writes: the "requested" comment, then the close, whose classification comment is the audit of every
    // step since: the user's answer (time, IP, user agent), Incode's result, and what decided.
    const comments = callsFor(id, 'commentOnIncident').map((call) => call.input as { commentKey: string; message: string });
    assert.deepEqual(
      comments.map((comment) => comment.commentKey),
      ['requested'],
    );
    assert.match(
      closing.classificationComment,
      /answered "This was me" on the confirmation page at \d{4}-.* IP address 198\.51\.100\.4, user agent: test-browser\/1\.0/s,
    );
    assert.match(closing.classificationComment, new RegExp(`Incode interview iv-${id}: onboarding status ONBOARDING_FINISHED, score OK`));
    assert.match(closing.classificationComment, /Mode: confirmation page, then Incode/);
    assert.match(closing.classificationComment, /Closing as FalsePositive \/ IncorrectAlertLogic/);
    assert.ok(closing.classificationComment.length <= CLASSIFICATION_COMMENT_LIMIT);
    assert.ok(
      [...comments.map((comment) => comment.message), closing.classificationComment].every((text) => !text.includes('https://')),
      'no link on the incident',
    );

    // Each service's calls were dispatched on its own task queue, where the server enforces its rate limit.
    const history = await handle.fetchHistory();
    const queues = new Map<string, Set<string>>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (!scheduled) continue;
      const name = scheduled.activityType?.name ?? '?';
      queues.set(name, new Set([...(queues.get(name) ?? []), scheduled.taskQueue?.name ?? '?']));
    }
    const main = temporal.config.taskQueue;
    assert.deepEqual(Object.fromEntries([...queues].map(([name, names]) => [name, [...names]])), {
      createVerificationSession: [incodeTaskQueue(main)],
      commentOnIncident: [sentinelTaskQueue(main, SUBSCRIPTION)],
      readSessionResult: [incodeTaskQueue(main)],
      closeIncident: [sentinelTaskQueue(main, SUBSCRIPTION)],
    });
  });

  it('escalates when Incode confirms failure', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id));
    world.sessionState.set(`iv-${id}`, 'Failed');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_FAILED',
      externalCustomerId: id,
      receivedAt: new Date().toISOString(),
    });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Failed');
    assert.equal(outcome.incidentAction, 'Escalated');
    const [escalation] = callsFor(id, 'escalateIncident');
    assert.deepEqual(
      { severity: (escalation.input as { severity: string }).severity, label: (escalation.input as { label: string }).label },
      { severity: 'High', label: 'identity-verification-failed' },
    );
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });

  it('does not close on a webhook Incode does not confirm, and escalates at the deadline', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id, { timeoutMs: 3_000 }));
    // Forged or premature: the webhook says success, Incode says the link was never opened.
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: `iv-${id}`,
      receivedAt: new Date().toISOString(),
    });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'TimedOut');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.equal(callsFor(id, 'closeIncident').length, 0);
    // One read-back for the webhook, one last one at the deadline.
    assert.ok(callsFor(id, 'readSessionResult').length >= 2);
    const decision = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'decision');
    assert.match((decision?.input as { message: string }).message, /did not complete .* within 3 s/);
  });

  it('ignores an event for another interview and counts it', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id, { timeoutMs: 30_000 }));
    world.sessionState.set('iv-someone-else', 'Succeeded');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: 'iv-someone-else',
      receivedAt: new Date().toISOString(),
    });
    const state = await eventually(async () => {
      const current = await handle.query(statusQuery);
      return current.ignoredEvents === 1 ? current : undefined;
    });
    assert.equal(state.status, 'AwaitingUser');
    assert.equal(callsFor(id, 'readSessionResult').length, 0);
    await handle.terminate('test done');
  });

  it('a confirmed success without a prior "This was me" does not close: it waits for the deadline, then escalates', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id, { timeoutMs: 3_000 }));
    world.sessionState.set(`iv-${id}`, 'Succeeded');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: `iv-${id}`,
      receivedAt: new Date().toISOString(),
    });
    await eventually(async () => ((await handle.query(statusQuery)).lastSessionState === 'Succeeded' ? true : undefined));
    assert.equal((await handle.query(statusQuery)).status, 'AwaitingUser', 'still waiting for the answer');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'TimedOut');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.equal(callsFor(id, 'closeIncident').length, 0);
    const decision = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'decision');
    assert.match((decision?.input as { message: string }).message, /without first confirming the incident's activity/);
  });

  it('"This wasn\'t me" escalates at once with remediation, and a later Incode success changes nothing', async () => {
    const id = randomUUID();
    world.profiles = new Map([
      [
        'alice@contoso.com',
        { profile: { id: `oid-${id}`, userPrincipalName: 'alice@contoso.com', userType: 'Member', accountEnabled: true }, groupIds: [] },
      ],
    ]);
    const { handle } = await start(request(id, { remediation: ['revokeSessions'] }));
    assert.deepEqual(await answer(handle, 'wasnt-me'), { kind: 'recorded' });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Denied');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.equal(
      world.calls.filter((call) => call.name === 'remediateAccount' && JSON.stringify(call.input).includes(`oid-${id}`)).length,
      1,
    );
    const decision = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'decision');
    assert.match(
      (decision?.input as { message: string }).message,
      /denied the activity: the user answered "This wasn't me" on the confirmation page at \d{4}-/,
    );
    assert.match((decision?.input as { message: string }).message, /revoke sign-in sessions: done/);
    await assert.rejects(answer(handle, 'was-me'));
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });

  it('"This was me" followed by "This wasn\'t me": the denial wins', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id));
    await answer(handle, 'was-me');
    await answer(handle, 'wasnt-me');
    world.sessionState.set(`iv-${id}`, 'Succeeded');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Denied');
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });

  it('a verification whose user the caller named (not Sentinel) has no page and never closes', async () => {
    const id = randomUUID();
    const { subjectNamedBy: _named, ...callerNamed } = request(id);
    const { link, handle } = await start(callerNamed);
    assert.equal(link.kind === 'link' && link.confirmationPage, undefined, 'no confirmation page');
    await assert.rejects(answer(handle, 'was-me'));
    world.sessionState.set(`iv-${id}`, 'Succeeded');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: `iv-${id}`,
      receivedAt: new Date().toISOString(),
    });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'IdentityMismatch');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });

  it("incode-direct policy: the seed's direct link, closed on a confirmed success, and the comment names the mode", async () => {
    const id = randomUUID();
    const { link, handle } = await start(request(id, { verificationLink: 'incode-direct' }));
    assert.equal(link.kind === 'link' && link.confirmationPage, undefined);
    world.sessionState.set(`iv-${id}`, 'Succeeded');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: `iv-${id}`,
      receivedAt: new Date().toISOString(),
    });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Verified');
    const [close] = callsFor(id, 'closeIncident');
    assert.match((close.input as { classificationComment: string }).classificationComment, /Mode: direct Incode link/);
  });

  it('an escalation after "This was me" writes the answer with the decision, not on its own', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id));
    await answer(handle, 'was-me');
    world.sessionState.set(`iv-${id}`, 'Failed');
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_FAILED',
      interviewId: `iv-${id}`,
      receivedAt: new Date().toISOString(),
    });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Failed');
    const comments = callsFor(id, 'commentOnIncident').map((call) => call.input as { commentKey: string; message: string });
    assert.deepEqual(
      comments.map((comment) => comment.commentKey),
      ['requested', 'decision'],
    );
    assert.match(
      comments[1].message,
      /answered "This was me" on the confirmation page at [\s\S]*IP address 198\.51\.100\.4[\s\S]*FAILED the biometric identity verification/,
    );
    assert.equal(callsFor(id, 'escalateIncident').length, 1);
  });

  it('a verified verdict on an incident an analyst already closed keeps their close and records the audit in a comment', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id));
    await answer(handle, 'was-me');
    world.sessionState.set(`iv-${id}`, 'Succeeded');
    world.incidentClosedByAnalyst = true;
    try {
      await handle.signal(verificationResultSignal, {
        eventType: 'SESSION_SUCCEEDED',
        interviewId: `iv-${id}`,
        receivedAt: new Date().toISOString(),
      });
      const outcome = await handle.result();
      assert.equal(outcome.incidentAction, 'CommentedOnly');
      const decision = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'decision');
      assert.match(
        (decision?.input as { message: string }).message,
        /answered "This was me"[\s\S]*passed the biometric identity verification[\s\S]*already been closed by an analyst as TruePositive/,
      );
    } finally {
      world.incidentClosedByAnalyst = false;
    }
  });

  it('an audit longer than the classification comment holds goes into a comment too, and the field says so', async () => {
    const id = randomUUID();
    world.createFails = ApplicationFailure.nonRetryable(
      'The user is not in the Incode directory (Incode error 5504)',
      'IncodeUserNotFound',
    );
    let handle: WorkflowHandle<typeof identityVerification>;
    try {
      ({ handle } = await start(request(id, { unknownUserPath: 'review' })));
    } finally {
      world.createFails = undefined;
    }
    await eventually(async () => ((await handle.query(statusQuery)).status === 'AwaitingReview' ? true : undefined));
    const note = `Checked with the user's manager by phone. ${'Details of the call. '.repeat(120)}`;
    await handle.executeUpdate(reviewDecisionUpdate, { args: [{ decision: 'approve', reviewer: 'soc-lead', note }] });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Verified');
    const classificationComment = (callsFor(id, 'closeIncident')[0].input as { classificationComment: string }).classificationComment;
    assert.ok(classificationComment.length <= CLASSIFICATION_COMMENT_LIMIT, `${classificationComment.length} characters`);
    assert.match(
      classificationComment,
      /Manual review APPROVED by soc-lead[\s\S]*…\n\[itdr-verify\] The full audit is in this verification's decision comment/,
    );
    const decision = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'decision');
    assert.ok((decision?.input as { message: string }).message.includes(note), 'the whole note is on the incident');
  });

  it("with remediation, every joined incident's decision states the remediation once", async () => {
    const id = randomUUID();
    const joined = [randomUUID(), randomUUID()];
    world.profiles = new Map([
      [
        'alice@contoso.com',
        { profile: { id: `oid-${id}`, userPrincipalName: 'alice@contoso.com', userType: 'Member', accountEnabled: true }, groupIds: [] },
      ],
    ]);
    const { handle } = await start(request(id, { remediation: ['revokeSessions'] }));
    for (const incidentId of joined) {
      const link = await handle.executeUpdate(joinVerificationUpdate, {
        args: [{ incidentId, userEmail: 'alice@contoso.com', workspace: request(id).workspace, requestedBy: 'sentinel-playbook' }],
      });
      assert.equal(link.kind, 'link');
    }
    await answer(handle, 'wasnt-me');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Denied');
    assert.equal(outcome.incidents?.length, 3);
    for (const incidentId of [id, ...joined]) {
      const decision = callsFor(incidentId, 'commentOnIncident').find(
        (call) => (call.input as { commentKey: string }).commentKey === 'decision',
      );
      const message = (decision?.input as { message: string }).message;
      assert.equal(message.split('Remediation (Microsoft Graph)').length - 1, 1, `incident ${incidentId}: ${message}`);
    }
  });

  it('finds the result by polling when the webhook is lost', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id, { pollIntervalMs: 500 }));
    await answer(handle, 'was-me');
    world.sessionState.set(`iv-${id}`, 'Succeeded');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.confirmedBy, 'poll');
  });

  it('answers the update without a link and escalates when the user is not in the Incode directory', async () => {
    const id = randomUUID();
    world.createFails = ApplicationFailure.nonRetryable(
      'The user is not in the Incode directory (Incode error 5504)',
      'IncodeUserNotFound',
    );
    try {
      const { link, handle } = await start(request(id));
      assert.deepEqual(link.kind === 'no-link' && { status: link.status, reason: link.reason }, {
        status: 'UserNotFound',
        reason: 'The user is not in the Incode directory (Incode error 5504)',
      });
      const outcome = await handle.result();
      assert.equal(outcome.status, 'UserNotFound');
      assert.equal(outcome.incidentAction, 'Escalated');
    } finally {
      world.createFails = undefined;
    }
  });

  it('leaves an incident an analyst already closed as it is, with a comment', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id));
    world.sessionState.set(`iv-${id}`, 'Failed');
    world.incidentClosedByAnalyst = true;
    try {
      await handle.signal(verificationResultSignal, {
        eventType: 'SESSION_FAILED',
        interviewId: `iv-${id}`,
        receivedAt: new Date().toISOString(),
      });
      const outcome = await handle.result();
      assert.equal(outcome.incidentAction, 'CommentedOnly');
      const decision = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'decision');
      assert.match((decision?.input as { message: string }).message, /already been closed by an analyst as TruePositive/);
    } finally {
      world.incidentClosedByAnalyst = false;
    }
  });

  it('keeps the VerificationStatus search attribute current for operators', async () => {
    const id = randomUUID();
    const { handle } = await start(request(id));
    const query = `WorkflowId = '${handle.workflowId}' AND VerificationStatus = 'AwaitingUser'`;
    await eventually(
      async () => {
        for await (const execution of temporal.client.workflow.list({ query })) return execution.workflowId;
        return undefined;
      },
      15_000,
      'the workflow to be listed as AwaitingUser',
    );
    await handle.terminate('test done');
  });
  it('a resend renews an expired link, and results of the old session are ignored from then on', async () => {
    const id = randomUUID();
    world.sessionExpiresAt = new Date(Date.now() - 1000).toISOString();
    try {
      const { handle } = await start(request(id));
      await handle.signal(resendLinkSignal, { requestedBy: 'cli:operator' });
      const renewed = await eventually(async () => {
        const current = await handle.query(statusQuery);
        return current.interviewId === `iv-${id}-2` ? current : undefined;
      });
      assert.equal(renewed.remindersSent, 1);
      const link = await handle.executeUpdate(verificationLinkUpdate);
      assert.equal(link.kind === 'link' && link.interviewId, `iv-${id}-2`);
      world.sessionState.set(`iv-${id}`, 'Succeeded');
      await handle.signal(verificationResultSignal, {
        eventType: 'SESSION_SUCCEEDED',
        interviewId: `iv-${id}`,
        receivedAt: new Date().toISOString(),
      });
      await eventually(async () => ((await handle.query(statusQuery)).ignoredEvents === 1 ? true : undefined));
      world.sessionState.set(`iv-${id}-2`, 'Failed');
      await handle.signal(verificationResultSignal, {
        eventType: 'SESSION_FAILED',
        interviewId: `iv-${id}-2`,
        receivedAt: new Date().toISOString(),
      });
      const outcome = await handle.result();
      assert.equal(outcome.status, 'Failed');
      assert.equal(outcome.interviewId, `iv-${id}-2`);
      const reminder = callsFor(id, 'commentOnIncident').find((call) => (call.input as { commentKey: string }).commentKey === 'reminder-1');
      assert.match((reminder?.input as { message: string }).message, /previous link had expired: a new Incode session/);
    } finally {
      world.sessionExpiresAt = undefined;
    }
  });
});

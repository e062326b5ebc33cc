import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import {
  cancelVerificationSignal,
  statusQuery,
  userAnswerUpdate,
  verificationLinkUpdate,
  verificationResultSignal,
  WORKFLOW_TYPES,
} from '../../src/shared/messages';
import type { IncidentVerificationRequest } from '../../src/shared/types';
import type { identityVerification, incidentVerification } from '../../src/workflows';
import { createVerificationWorker, type VerificationWorker } from '../../src/worker/create-worker';
import { fakeActivities, TEST_SUBSCRIPTION_ID as SUBSCRIPTION, testIncidentRequest, type FakeWorld } from '../helpers/fake-activities';
import { connectTemporal, eventually, type TemporalTestContext } from '../helpers/temporal';

const ALICE = 'alice@contoso.com';
const ADELE = 'adele.vance@contoso.com';

/**
 * incidentVerification (an incident naming several accounts) on the real server with in-memory activities: one
 * Incode session and one child identityVerification per account, the incident closed only when every account is
 * verified, escalated (naming who) as soon as one is not, the other children stopped.
 */
describe('incidentVerification workflow (real server, fake activities)', () => {
  let temporal: TemporalTestContext;
  let worker: VerificationWorker;
  let running: Promise<void>;
  const world: FakeWorld = { sessionState: new Map(), calls: [] };

  before(async () => {
    temporal = await connectTemporal('wf-incident');
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

  async function start(input: IncidentVerificationRequest) {
    const operation = new WithStartWorkflowOperation<typeof incidentVerification>(WORKFLOW_TYPES.incident, {
      workflowId: `wf-incident-${input.incidentId}`,
      taskQueue: temporal.config.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const link = await temporal.client.workflow.executeUpdateWithStart(verificationLinkUpdate, { startWorkflowOperation: operation });
    const handle = await operation.workflowHandle();
    return { link, handle, operation };
  }

  /** The child verifying account N (1-based), as the confirmation page's link names it. */
  const child = (parent: WorkflowHandle<typeof incidentVerification>, n: number) =>
    temporal.client.workflow.getHandle<typeof identityVerification>(`${parent.workflowId}-account-${n}`);

  const answer = (handle: WorkflowHandle<typeof identityVerification>, user: string, given: 'was-me' | 'wasnt-me') =>
    handle.executeUpdate(userAnswerUpdate, {
      args: [{ answer: given, user, answeredAt: new Date().toISOString(), clientIp: '198.51.100.4', userAgent: 'test-browser/1.0' }],
    });

  /** Incode's answer for a session, then its webhook to the incident's workflow, as the gateway routes it. */
  async function incodeAnswers(parent: WorkflowHandle<typeof incidentVerification>, interviewId: string, state: 'Succeeded' | 'Failed') {
    world.sessionState.set(interviewId, state);
    await parent.signal(verificationResultSignal, {
      eventType: state === 'Succeeded' ? 'SESSION_SUCCEEDED' : 'SESSION_FAILED',
      interviewId,
      receivedAt: new Date().toISOString(),
    });
  }

  /**
   * How a child that was told to stop ended: it completes Cancelled, or, when the incident's workflow finished
   * first, the server terminates it (the default parent close policy). Either way it no longer runs.
   */
  async function stopped(handle: WorkflowHandle<typeof identityVerification>): Promise<string> {
    return eventually(async () => {
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') return undefined;
      if (status.name === 'COMPLETED') return (await handle.result()).status;
      return status.name;
    });
  }

  const callsFor = (incidentId: string, name: string) =>
    world.calls.filter((call) => call.name === name && JSON.stringify(call.input).includes(incidentId));
  const commentsFor = (incidentId: string) =>
    callsFor(incidentId, 'commentOnIncident').map((call) => call.input as { commentKey: string; message: string });

  it('creates one session and one child per account, and closes the incident once when every account is verified', async () => {
    const id = randomUUID();
    const { link, handle } = await start(testIncidentRequest(id, [ALICE, ADELE]));
    assert.equal(link.kind, 'link');
    assert.ok(link.kind === 'link');
    assert.deepEqual(
      link.accounts?.map((account) => [account.user, account.interviewId]),
      [
        [ALICE, `iv-${id}`],
        [ADELE, `iv-${id}-2`],
      ],
    );
    assert.equal(link.confirmationPage, true);
    assert.ok(link.deadline && Date.parse(link.deadline) > Date.now());
    assert.equal(link.interviewId, `iv-${id}`, "the first account is the answer's main link");
    // Each session was made for its own account's login hint.
    assert.deepEqual(
      callsFor(id, 'createVerificationSession').map((call) => (call.input as { loginHint: string }).loginHint),
      [ALICE, ADELE],
    );
    const waiting = await handle.query(statusQuery);
    assert.equal(waiting.status, 'AwaitingUser');
    assert.deepEqual(
      waiting.accounts?.map((account) => account.status),
      ['AwaitingUser', 'AwaitingUser'],
    );

    // A retried Sentinel call joins the running verification: the same links, no new sessions.
    const again = await start(testIncidentRequest(id, [ALICE, ADELE]));
    assert.equal(again.handle.workflowId, handle.workflowId);
    assert.deepEqual(again.link, link);
    assert.equal(callsFor(id, 'createVerificationSession').length, 2);

    assert.deepEqual(await answer(child(handle, 1), ALICE, 'was-me'), {
      kind: 'continue',
      verificationUrl: `https://incode.example/verify/iv-${id}`,
    });
    await incodeAnswers(handle, `iv-${id}`, 'Succeeded');
    // One verified account is not enough.
    const first = await child(handle, 1).result();
    assert.equal(first.status, 'Verified');
    const half = await eventually(async () => {
      const state = await handle.query(statusQuery);
      return state.accounts?.[0].status === 'Verified' ? state : undefined;
    });
    assert.equal(half.status, 'AwaitingUser');
    assert.equal(callsFor(id, 'closeIncident').length, 0);

    await answer(child(handle, 2), ADELE, 'was-me');
    await incodeAnswers(handle, `iv-${id}-2`, 'Succeeded');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.incidentAction, 'Closed');
    assert.equal(callsFor(id, 'closeIncident').length, 1, 'the incident is closed once, by the incident workflow');
    assert.equal(callsFor(id, 'escalateIncident').length, 0);
    const comments = commentsFor(id);
    const requested = comments.find((comment) => comment.commentKey === 'requested');
    assert.match(requested?.message ?? '', /requested for the 2 accounts/);
    assert.ok(requested?.message.includes(ALICE) && requested.message.includes(ADELE));
    const close = callsFor(id, 'closeIncident')[0].input as { comment?: string; classification: string };
    assert.equal(close.classification, 'FalsePositive');
    const final = await handle.query(statusQuery);
    assert.deepEqual(
      final.accounts?.map((account) => account.status),
      ['Verified', 'Verified'],
    );
  });

  it("escalates as soon as one account fails, names it, and stops the other account's verification", async () => {
    const id = randomUUID();
    const { handle } = await start(testIncidentRequest(id, [ALICE, ADELE]));
    await answer(child(handle, 2), ADELE, 'was-me');
    await incodeAnswers(handle, `iv-${id}-2`, 'Failed');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Failed');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.match(outcome.reason, new RegExp(`${ADELE.replace(/\./g, '\\.')}: Failed`));
    assert.doesNotMatch(outcome.reason, new RegExp(`- ${ALICE}`));
    assert.ok(['Cancelled', 'TERMINATED'].includes(await stopped(child(handle, 1))));
    assert.equal(callsFor(id, 'escalateIncident').length, 1);
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });

  it('"This wasn\'t me" from one account escalates the incident as Denied', async () => {
    const id = randomUUID();
    const { handle } = await start(testIncidentRequest(id, [ALICE, ADELE]));
    await answer(child(handle, 1), ALICE, 'wasnt-me');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Denied');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.ok(['Cancelled', 'TERMINATED'].includes(await stopped(child(handle, 2))));
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });

  it('routes a webhook to the account whose session it names, and counts one naming no account as ignored', async () => {
    const id = randomUUID();
    const { handle } = await start(testIncidentRequest(id, [ALICE, ADELE], { timeoutMs: 30_000 }));
    await handle.signal(verificationResultSignal, {
      eventType: 'SESSION_SUCCEEDED',
      interviewId: 'iv-someone-else',
      receivedAt: new Date().toISOString(),
    });
    const ignored = await eventually(async () => {
      const state = await handle.query(statusQuery);
      return state.ignoredEvents === 1 ? state : undefined;
    });
    assert.equal(ignored.status, 'AwaitingUser');
    // Only the named session is read back: the other account's child was not woken up.
    await answer(child(handle, 2), ADELE, 'was-me');
    await incodeAnswers(handle, `iv-${id}-2`, 'Succeeded');
    assert.equal((await child(handle, 2).result()).status, 'Verified');
    assert.equal(world.calls.filter((call) => call.name === 'readSessionResult' && call.input === `iv-${id}`).length, 0);
    await handle.signal(cancelVerificationSignal, { reason: 'test done', requestedBy: 'test' });
    await handle.result();
  });

  it("an analyst's cancel stops every account and changes nothing on the incident, however the children's ends interleave", async () => {
    // A child stops on the cancel while the incident's workflow is still signalling the others: signalling a child
    // that has just ended must not fail the incident's workflow. Several incidents at once make that interleaving likely.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const id = randomUUID();
        const { handle } = await start(testIncidentRequest(id, [ALICE, ADELE]));
        await handle.signal(cancelVerificationSignal, { reason: 'The incident was closed in Sentinel', requestedBy: 'analyst' });
        const outcome = await handle.result();
        assert.equal(outcome.status, 'Cancelled');
        assert.equal(outcome.incidentAction, 'None');
        // The first child to stop decides; the other is stopped with it.
        const ends = [await stopped(child(handle, 1)), await stopped(child(handle, 2))];
        assert.ok(ends.includes('Cancelled'), `one child completes Cancelled: ${ends.join(', ')}`);
        assert.ok(
          ends.every((end) => end === 'Cancelled' || end === 'TERMINATED'),
          ends.join(', '),
        );
        assert.equal(callsFor(id, 'closeIncident').length + callsFor(id, 'escalateIncident').length, 0);
      }),
    );
  });

  it('an account Incode does not know escalates at once with no link and starts no child', async () => {
    const id = randomUUID();
    world.createFails = ApplicationFailure.nonRetryable(
      'The user is not in the Incode directory (Incode error 5504)',
      'IncodeUserNotFound',
    );
    try {
      const { link, handle } = await start(testIncidentRequest(id, [ALICE, ADELE]));
      assert.equal(link.kind, 'no-link');
      assert.equal(link.kind === 'no-link' && link.status, 'UserNotFound');
      assert.match(link.kind === 'no-link' ? link.reason : '', new RegExp(`^${ALICE}: .*5504`));
      const outcome = await handle.result();
      assert.equal(outcome.status, 'UserNotFound');
      assert.equal(outcome.incidentAction, 'Escalated');
      await assert.rejects(child(handle, 1).describe(), WorkflowNotFoundError);
      assert.equal(
        callsFor(id, 'createVerificationSession').length,
        1,
        'the second account is not asked for once the first cannot be verified',
      );
    } finally {
      world.createFails = undefined;
    }
  });

  it('an account whose verification times out escalates the incident as TimedOut', async () => {
    const id = randomUUID();
    const { handle } = await start(testIncidentRequest(id, [ALICE, ADELE], { timeoutMs: 3_000, pollIntervalMs: 1_000 }));
    // Alice is verified in time; Adele never opens her link.
    await answer(child(handle, 1), ALICE, 'was-me');
    await incodeAnswers(handle, `iv-${id}`, 'Succeeded');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'TimedOut');
    assert.equal(outcome.incidentAction, 'Escalated');
    assert.match(outcome.reason, new RegExp(`${ADELE.replace(/\./g, '\\.')}: TimedOut`));
    assert.equal(callsFor(id, 'closeIncident').length, 0);
  });
});

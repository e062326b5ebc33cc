import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { statusQuery } from '../../src/shared/messages';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/** Analysts and reviewers steering running verifications through the gateway. */
describe('cancel, manual review and reminders end to end', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({
      VERIFICATION_TIMEOUT: '1h',
      RESULT_POLL_INTERVAL: '1h',
      REVIEW_TIMEOUT: '4s',
      REMINDER_INTERVAL: '1500ms',
      MAX_REMINDERS: '2',
    });
  });
  after(async () => {
    await stack?.stop();
  });

  async function start() {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Odd hours sign-in',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    return {
      incident,
      started: started.body as { workflowId: string; interviewId: string },
      handle: stack.client.workflow.getHandle(started.body.workflowId),
    };
  }
  const comments = (id: string) => stack.simulator.sentinel.listComments(id).map((comment) => comment.properties.message);

  it('a direct cancel stops the verification and changes nothing on the incident', async () => {
    const { incident, handle } = await start();
    const cancelled = await stack.post(`/api/incidents/${incident.name}/cancel`, { reason: 'user is on leave, handled by phone' });
    assert.equal(cancelled.status, 202);
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Cancelled');
    assert.equal(outcome.incidentAction, 'None');
    assert.match(outcome.reason, /local-dev: user is on leave/);
    const current = stack.simulator.sentinel.getIncident(incident.name)!;
    assert.equal(current.properties.status, 'New');
    assert.equal(current.properties.severity, 'Medium');
    assert.equal(comments(incident.name).filter((message) => !message.includes('Reminder')).length, 1, 'only the "requested" comment');
    const again = await stack.post(`/api/incidents/${incident.name}/cancel`, {});
    assert.equal(again.status, 409);
  });

  it("Sentinel's update trigger for an incident an analyst closed stops the verification", async () => {
    const { incident, handle } = await start();
    stack.simulator.sentinel.simulateAnalystEdit(incident.name, {
      status: 'Closed',
      classification: 'TruePositive',
      classificationReason: 'SuspiciousActivity',
      classificationComment: 'confirmed compromise',
    });
    const trigger = stack.simulator.sentinel.playbookTrigger(incident.name, 'Update');
    const response = await stack.post('/api/incidents', trigger);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.status, 'verification_cancelled');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Cancelled');
    const current = stack.simulator.sentinel.getIncident(incident.name)!;
    assert.equal(current.properties.classification, 'TruePositive', "the analyst's decision stands");
  });

  it('a session Incode sends to manual review waits for a reviewer, who approves through the gateway', async () => {
    const { incident, started, handle } = await start();
    const early = await stack.post(`/api/incidents/${incident.name}/review`, { decision: 'approve' });
    assert.equal(early.status, 409, 'no review before the verification awaits one');
    await stack.simulator.incode.completeSession(started.interviewId, 'pending-review');
    await eventually(async () => ((await handle.query(statusQuery)).status === 'AwaitingReview' ? true : undefined));
    const invalid = await stack.post(`/api/incidents/${incident.name}/review`, { decision: 'maybe' });
    assert.equal(invalid.status, 400);
    const approved = await stack.post(`/api/incidents/${incident.name}/review`, {
      decision: 'approve',
      note: 'called the user back on a known number',
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const outcome = await handle.result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.confirmedBy, 'reviewer');
    assert.equal(stack.simulator.sentinel.getIncident(incident.name)!.properties.status, 'Closed');
    assert.match(
      String(stack.simulator.sentinel.getIncident(incident.name)!.properties.classificationComment),
      /Manual review APPROVED by local-dev/,
    );
  });

  it('a reviewer can reject, and a review nobody makes in time escalates', async () => {
    const rejected = await start();
    const timedOut = await start();
    await stack.simulator.incode.completeSession(rejected.started.interviewId, 'pending-review');
    await stack.simulator.incode.completeSession(timedOut.started.interviewId, 'pending-review');
    await eventually(async () => ((await rejected.handle.query(statusQuery)).status === 'AwaitingReview' ? true : undefined));
    const response = await stack.post(`/api/incidents/${rejected.incident.name}/review`, { decision: 'reject' });
    assert.equal(response.status, 200);
    assert.equal((await rejected.handle.result()).status, 'Failed');
    assert.equal(stack.simulator.sentinel.getIncident(rejected.incident.name)!.properties.severity, 'High');

    const outcome = await timedOut.handle.result();
    assert.equal(outcome.status, 'TimedOut');
    assert.match(outcome.reason, /no reviewer decided in time/);
    assert.equal(stack.simulator.sentinel.getIncident(timedOut.incident.name)!.properties.status, 'Active');
  });

  it('reminds on schedule, up to the configured count, each noted on the incident', async () => {
    const { incident, handle } = await start();
    await eventually(
      async () => (comments(incident.name).filter((message) => message.includes('Reminder')).length === 2 ? true : undefined),
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const reminders = comments(incident.name).filter((message) => message.includes('Reminder'));
    assert.equal(reminders.length, 2, 'no more than MAX_REMINDERS');
    assert.match(reminders[0], /Reminder 1: (demo\.user <)?demo\.user@contoso\.com>? has not completed/);
    assert.equal((await handle.query(statusQuery)).remindersSent, 2);
    await handle.terminate('test done');
  });
});

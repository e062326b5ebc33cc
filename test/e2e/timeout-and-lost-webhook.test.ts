import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/** Short, configured timeouts: the same code paths as the 24 h default, in seconds. */
describe('timeouts and lost webhooks end to end', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '4s', RESULT_POLL_INTERVAL: '1s' });
  });
  after(async () => {
    await stack?.stop();
  });

  function seed() {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    return stack.simulator.sentinel.seedIncident({
      title: 'Sign-in at odd hours',
      severity: 'Low',
      accounts: [{ accountName, upnSuffix }],
    });
  }

  it('escalates with the reason when the user never opens the link', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200);
    const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
    assert.equal(outcome.status, 'TimedOut');
    assert.equal(outcome.incidentAction, 'Escalated');
    const current = stack.simulator.sentinel.getIncident(incident.name)!;
    assert.equal(current.properties.severity, 'High');
    assert.equal(current.properties.status, 'Active');
    const comments = stack.simulator.sentinel.listComments(incident.name).map((comment) => comment.properties.message);
    assert.match(comments.at(-1)!, /did not complete the identity verification within 4 s/);
    assert.match(comments.at(-1)!, /The link was never opened/);
  });

  it('finishes by polling Incode when the webhook never arrives', async () => {
    stack.simulator.incode.dropWebhooks = true;
    try {
      const incident = seed();
      const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
      assert.equal(started.status, 200);
      assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
      const completion = await stack.simulator.incode.completeSession(started.body.interviewId, 'succeeded');
      assert.equal(completion.webhook.delivered, false);
      const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
      assert.equal(outcome.status, 'Verified');
      assert.equal(outcome.confirmedBy, 'poll');
      const closed = await eventually(async () => {
        const current = stack.simulator.sentinel.getIncident(incident.name)!;
        return current.properties.status === 'Closed' ? current : undefined;
      });
      assert.equal(closed.properties.classification, 'FalsePositive');
    } finally {
      stack.simulator.incode.dropWebhooks = false;
    }
  });

  it('a webhook for a finished verification is acknowledged and changes nothing', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    await stack.client.workflow.getHandle(started.body.workflowId).result();
    const auditBefore = stack.simulator.sentinel.auditLog(incident.name).length;
    const late = await stack.webhook({
      eventType: 'SESSION_SUCCEEDED',
      externalCustomerId: incident.name,
      interviewId: started.body.interviewId,
    });
    assert.equal(late.status, 200);
    assert.equal(late.body.success, true);
    assert.match(late.body.note, /already finished/);
    assert.equal(stack.simulator.sentinel.auditLog(incident.name).length, auditBefore);
    assert.equal(stack.simulator.sentinel.getIncident(incident.name)!.properties.status, 'Active');
    // Posting the incident again does not start a second verification.
    const again = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'verification_completed');
    assert.equal(again.body.outcome.status, 'TimedOut');
  });
});

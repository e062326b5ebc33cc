import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, OTHER_USER, startTestStack, type TestStack } from '../helpers/stack';

describe('repeat alerts for one user join the pending verification', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ VERIFICATION_JOIN_WINDOW: '1h', VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' });
  });
  after(async () => {
    await stack?.stop();
  });

  function seed(user: string, title: string) {
    const [accountName, upnSuffix] = user.split('@');
    return stack.simulator.sentinel.seedIncident({ title, severity: 'Medium', accounts: [{ accountName, upnSuffix }] });
  }

  it('one link and one decision for both incidents of the user; another user gets their own', async () => {
    const first = seed(DEMO_USER, 'Impossible travel');
    const second = seed(DEMO_USER, 'Sign-in from a new device');
    const stranger = seed(OTHER_USER, 'Impossible travel');

    const a = await stack.post('/api/incidents', { incidentId: first.name, userEmail: DEMO_USER });
    assert.equal(a.status, 200);
    const b = await eventually(
      async () => {
        const response = await stack.post('/api/incidents', { incidentId: second.name, userEmail: DEMO_USER });
        return response.body.joinedVerificationOf ? response : undefined;
      },
      10_000,
      'the second incident to join (visibility)',
    );
    assert.equal(b.body.verificationUrl, a.body.verificationUrl);
    assert.equal(b.body.workflowId, a.body.workflowId);
    const again = await stack.post('/api/incidents', { incidentId: second.name, userEmail: DEMO_USER });
    assert.equal(again.body.workflowId, a.body.workflowId, 'a repeated post of the joined incident stays joined');
    const c = await stack.post('/api/incidents', { incidentId: stranger.name, userEmail: OTHER_USER });
    assert.equal(c.status, 200);
    assert.notEqual(c.body.workflowId, a.body.workflowId);
    assert.equal(c.body.joinedVerificationOf, undefined);

    const demoSessions = stack.simulator.incode.listSessions().filter((session) => session.loginHint === DEMO_USER);
    assert.equal(demoSessions.length, 1, 'one Incode session for the user');
    const linkedStatus = await stack.get(`/api/incidents/${second.name}`);
    assert.equal(linkedStatus.status, 200);
    assert.equal(linkedStatus.body.workflowId, a.body.workflowId);
    assert.deepEqual(linkedStatus.body.linkedIncidents, [second.name]);

    assert.equal((await answerConfirmationPage(a.body.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(a.body.interviewId, 'succeeded');
    const outcome = await stack.client.workflow.getHandle(a.body.workflowId).result();
    assert.equal(outcome.status, 'Verified');
    assert.deepEqual(outcome.incidents, [
      { incidentId: first.name, action: 'Closed' },
      { incidentId: second.name, action: 'Closed' },
    ]);
    for (const incident of [first, second]) {
      const current = stack.simulator.sentinel.getIncident(incident.name)!;
      assert.equal(current.properties.status, 'Closed');
      const comments = stack.simulator.sentinel.listComments(incident.name).map((comment) => comment.properties.message);
      // Requested (or joined); the user's "This was me" and the decision are the close's classification comment.
      assert.equal(comments.length, 1, comments.join('\n'));
      assert.match(
        String(current.properties.classificationComment),
        /answered "This was me"[\s\S]*passed the biometric identity verification/,
      );
    }
    assert.match(stack.simulator.sentinel.listComments(second.name)[0].properties.message, /joined the verification already running/);
    assert.equal(stack.simulator.sentinel.getIncident(stranger.name)!.properties.status, 'New');
    await stack.client.workflow.getHandle(c.body.workflowId).terminate('test done');
  });
});

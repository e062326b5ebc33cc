import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, OTHER_USER, startTestStack, type TestStack } from '../helpers/stack';

/** An incident naming several accounts: one verification per account, one decision for the incident. */
describe('incidents with several accounts end to end', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' });
  });
  after(async () => {
    await stack?.stop();
  });

  function seedTwoAccounts() {
    const accounts = [DEMO_USER, OTHER_USER].map((user) => {
      const [accountName, upnSuffix] = user.split('@');
      return { accountName, upnSuffix };
    });
    return stack.simulator.sentinel.seedIncident({ title: 'Password spray: two accounts', severity: 'Medium', accounts });
  }

  async function start() {
    const incident = seedTwoAccounts();
    const response = await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(incident.name, 'Create'));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const verifications = response.body.verifications as Array<{ user: string; interviewId: string; verificationUrl: string }>;
    assert.deepEqual(verifications.map((entry) => entry.user).sort(), [DEMO_USER, OTHER_USER].sort());
    return { incident, response: response.body, byUser: new Map(verifications.map((entry) => [entry.user, entry])) };
  }

  it('closes only when every account is verified', async () => {
    const { incident, response, byUser } = await start();
    const comments = () => stack.simulator.sentinel.listComments(incident.name).map((comment) => comment.properties.message);
    await eventually(async () => (comments().length === 1 ? true : undefined));
    assert.match(comments()[0], /2 accounts of this incident/);

    assert.equal((await answerConfirmationPage(byUser.get(DEMO_USER)!.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(byUser.get(DEMO_USER)!.interviewId, 'succeeded');
    await eventually(async () => {
      const status = await stack.get(`/api/incidents/${incident.name}`);
      return status.body.accounts?.find((account: { user: string }) => account.user === DEMO_USER)?.status === 'Verified'
        ? true
        : undefined;
    });
    assert.equal(stack.simulator.sentinel.getIncident(incident.name)!.properties.status, 'New', 'one of two is not enough');

    assert.equal((await answerConfirmationPage(byUser.get(OTHER_USER)!.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(byUser.get(OTHER_USER)!.interviewId, 'succeeded');
    const outcome = await stack.client.workflow.getHandle(response.workflowId).result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.incidentAction, 'Closed');
    assert.equal(stack.simulator.sentinel.getIncident(incident.name)!.properties.status, 'Closed');
    assert.match(
      String(stack.simulator.sentinel.getIncident(incident.name)!.properties.classificationComment),
      /Every account of this incident passed/,
    );
  });

  it('escalates as soon as one account fails, naming who, and stops the other verification', async () => {
    const { incident, response, byUser } = await start();
    await stack.simulator.incode.completeSession(byUser.get(OTHER_USER)!.interviewId, 'failed');
    const outcome = await stack.client.workflow.getHandle(response.workflowId).result();
    assert.equal(outcome.status, 'Failed');
    assert.equal(outcome.incidentAction, 'Escalated');
    const current = stack.simulator.sentinel.getIncident(incident.name)!;
    assert.equal(current.properties.severity, 'High');
    const last = stack.simulator.sentinel.listComments(incident.name).at(-1)!.properties.message;
    assert.match(last, new RegExp(`${OTHER_USER.replace('.', '\\.')}: Failed`));
    const demoChild = stack.client.workflow.getHandle(
      `${response.workflowId}-account-${response.verifications[0].user === DEMO_USER ? 1 : 2}`,
    );
    const demoOutcome = await demoChild.result();
    assert.equal(demoOutcome.status, 'Cancelled');
  });
});

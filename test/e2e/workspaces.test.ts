import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { verificationWorkflowId } from '../../src/shared/ids';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * One deployment serving several Sentinel workspaces (an MSSP): SENTINEL_ALLOWED_WORKSPACES adds workspaces to
 * the default one; incidents of any other workspace are refused before anything starts.
 */
describe('several Sentinel workspaces from one deployment', () => {
  const customerB = { subscriptionId: randomUUID(), resourceGroup: 'rg-customer-b', workspaceName: 'law-customer-b' };
  const notServed = { subscriptionId: randomUUID(), resourceGroup: 'rg-customer-c', workspaceName: 'law-customer-c' };
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({
      SENTINEL_ALLOWED_WORKSPACES: `${customerB.subscriptionId}/${customerB.resourceGroup}/${customerB.workspaceName}`,
    });
    stack.simulator.sentinel.addWorkspace(customerB);
    stack.simulator.sentinel.addWorkspace(notServed);
  });
  after(async () => {
    await stack?.stop();
  });

  const [accountName, upnSuffix] = DEMO_USER.split('@');
  const seedIn = (workspace: typeof customerB) =>
    stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel activity',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
      workspace,
    });

  it('serves the default workspace and the listed one', () => {
    assert.deepEqual(
      stack.gatewayConfig.allowedWorkspaces.map((workspace) => workspace.workspaceName),
      [stack.simulator.sentinel.defaultWorkspace.workspaceName, customerB.workspaceName],
    );
  });

  it('an incident of an allowed second workspace is verified end to end', async () => {
    const incident = seedIn(customerB);
    const started = await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(incident.name, 'Create'));
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.status, 'verification_initiated');
    assert.equal(started.body.workflowId, verificationWorkflowId(customerB, incident.name));

    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    const done = await stack.simulator.incode.completeSession(started.body.interviewId, 'succeeded');
    assert.equal(done.webhook.delivered, true, 'the webhook found the verification in the second workspace');
    const closed = await eventually(async () => {
      const current = stack.simulator.sentinel.getIncident(incident.name, customerB);
      return current?.properties.status === 'Closed' ? current : undefined;
    });
    assert.equal(closed.properties.classification, 'FalsePositive');
    const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
    assert.equal(outcome.status, 'Verified');
    const comments = stack.simulator.sentinel.listComments(incident.name, customerB).map((comment) => comment.properties.message);
    assert.match(comments.join('\n'), /Identity verification requested/);
    assert.match(String(closed.properties.classificationComment), /passed the biometric identity verification/);

    const status = await stack.get(`/api/incidents/${incident.name}`);
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.equal(status.body.workflowId, verificationWorkflowId(customerB, incident.name));
    assert.equal(status.body.status, 'Verified');
  });

  it('an incident of a workspace not listed gets 403 workspace_not_served and starts nothing', async () => {
    const incident = seedIn(notServed);
    const refused = await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(incident.name, 'Create'));
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'workspace_not_served');
    assert.ok(!stack.simulator.incode.listSessions().some((session) => session.externalCustomerId === incident.name), 'no Incode session');
    await assert.rejects(stack.client.workflow.getHandle(verificationWorkflowId(notServed, incident.name)).describe(), /not found/i);
    assert.deepEqual(stack.simulator.sentinel.listComments(incident.name, notServed), []);
    assert.equal(stack.simulator.sentinel.getIncident(incident.name, notServed)?.properties.status, 'New');
    assert.equal((await stack.get(`/api/incidents/${incident.name}`)).status, 404);
  });
});

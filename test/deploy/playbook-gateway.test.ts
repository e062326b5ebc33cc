import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseIncidentRequest } from '../../src/gateway/incident-request';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';
import {
  playbookFailureComment,
  playbookRequest,
  renderPlaybook,
  SAMPLE_PLAYBOOK_IDENTITY,
  type RenderedPlaybook,
} from './playbook-request';

/**
 * The Sentinel playbook as deploy/azure/playbook/azuredeploy.json defines it, rendered offline (ARM
 * expressions, then the Logic App's own), and fed a trigger body as Sentinel builds it: its HTTP action's URL,
 * headers, authentication and body must be what the real gateway accepts, and its failure branch must read
 * the gateway's real error answers. A change on either side breaks this test.
 */
describe('Sentinel playbook → gateway', () => {
  let stack: TestStack;
  let playbook: RenderedPlaybook;

  before(async () => {
    stack = await startTestStack();
    playbook = renderPlaybook({ gatewayUrl: `${stack.gateway.url}/`, gatewayAudience: stack.entraCaller.audience });
  });
  after(async () => {
    await stack?.stop();
  });

  const seed = () => {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    return stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel activity',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
  };

  /** Sends the request as the Logic App does, with a token its managed identity would get for the audience. */
  async function send(triggerBody: unknown) {
    const request = playbookRequest(playbook, triggerBody);
    const token = stack.simulator.entraTokens.issue({ audience: request.authentication.audience, objectId: stack.entraCaller.objectId });
    const response = await fetch(request.url, {
      method: request.method,
      headers: { ...request.headers, authorization: `Bearer ${token}` },
      body: JSON.stringify(request.body),
    });
    return { request, status: response.status, body: (await response.json()) as any };
  }

  it("authenticates as its managed identity, for the gateway's audience, and POSTs the trigger body to /api/incidents", () => {
    const trigger = stack.simulator.sentinel.playbookTrigger(seed().name, 'Create');
    const request = playbookRequest(playbook, trigger);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, `${stack.gateway.url}/api/incidents`, 'a trailing slash in gatewayUrl does not double the path');
    assert.equal(request.headers['Content-Type'], 'application/json');
    assert.deepEqual(request.authentication, {
      type: 'ManagedServiceIdentity',
      identity: SAMPLE_PLAYBOOK_IDENTITY,
      audience: stack.entraCaller.audience,
    });
    assert.ok(
      stack.gatewayConfig.entra?.audiences.includes(request.authentication.audience),
      'the gateway accepts tokens for that audience',
    );
    assert.deepEqual(request.body, trigger, 'the whole incident, as Sentinel handed it');
    // The playbook, its Sentinel connection and its HTTP action all run as the one user-assigned identity.
    assert.deepEqual(playbook.identity, { type: 'UserAssigned', userAssignedIdentities: { [SAMPLE_PLAYBOOK_IDENTITY]: {} } });
    assert.deepEqual(playbook.connections.azuresentinel.connectionProperties.authentication, {
      type: 'ManagedServiceIdentity',
      identity: SAMPLE_PLAYBOOK_IDENTITY,
    });
    assert.equal(playbook.definition.triggers.Microsoft_Sentinel_incident.inputs.path, '/incident-creation');
  });

  it("the gateway's request schema accepts the rendered body as a Sentinel incident", () => {
    const incident = seed();
    const parsed = parseIncidentRequest(playbookRequest(playbook, stack.simulator.sentinel.playbookTrigger(incident.name, 'Create')).body);
    assert.equal(parsed.source, 'sentinel-playbook');
    assert.equal(parsed.incidentId, incident.name);
    const { subscriptionId, resourceGroup, workspaceName } = stack.simulator.sentinel.defaultWorkspace;
    assert.deepEqual(parsed.workspace, { subscriptionId, resourceGroup, workspaceName });
  });

  it('the real gateway starts the verification for it', async () => {
    const incident = seed();
    const answer = await send(stack.simulator.sentinel.playbookTrigger(incident.name, 'Create'));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 'verification_initiated');
    assert.equal(playbookFailureComment(playbook, answer.request.body, { statusCode: answer.status, body: answer.body }), undefined);
    await stack.client.workflow.getHandle(answer.body.workflowId).terminate('test done');
  });

  it("comments on the incident with the gateway's status and error code when the gateway refuses it", async () => {
    const incident = seed();
    const trigger = stack.simulator.sentinel.playbookTrigger(incident.name, 'Create') as { object: { id: string; name: string } };
    // An incident Sentinel no longer has: the gateway answers 404 unknown_incident and starts nothing.
    const gone = structuredClone(trigger);
    gone.object.id = gone.object.id.replace(incident.name, 'deadbeef-0000-4000-8000-000000000000');
    gone.object.name = 'deadbeef-0000-4000-8000-000000000000';
    const answer = await send(gone);
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    const comment = playbookFailureComment(playbook, gone, { statusCode: answer.status, body: answer.body });
    assert.ok(comment, 'the failure branch runs');
    assert.equal(comment.method, 'post');
    assert.equal(comment.path, '/Incidents/Comment');
    assert.match(String(comment.connection), /\/providers\/Microsoft\.Web\/connections\/azuresentinel-itdr-verify-playbook$/);
    assert.equal(comment.body.incidentArmId, gone.object.id);
    assert.match(comment.body.message, /HTTP 404, unknown_incident/);
    // No answer at all (the gateway unreachable): the comment still reads.
    const unreachable = playbookFailureComment(playbook, gone, { statusCode: undefined as never, body: null });
    assert.match(String(unreachable?.body.message), /HTTP , no answer/);
  });

  it('writes no comment for a closed incident with nothing to stop (409)', async () => {
    const incident = seed();
    stack.simulator.sentinel.simulateAnalystEdit(incident.name, {
      status: 'Closed',
      classification: 'TruePositive',
      classificationReason: 'SuspiciousActivity',
    });
    const answer = await send(stack.simulator.sentinel.playbookTrigger(incident.name, 'Update'));
    assert.equal(answer.status, 409, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, 'incident_closed');
    assert.equal(playbookFailureComment(playbook, answer.request.body, { statusCode: answer.status, body: answer.body }), undefined);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkspaceRef } from '../../src/shared/types';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE / GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION: each subscription (an
 * MSSP's tenant) brings in new incidents from its own bucket. A tenant beyond it is refused 429 with Retry-After
 * before anything is read in Sentinel or started in Temporal; another tenant is served as if nothing happened.
 */
describe("each subscription's share of new incidents", () => {
  const noisy: WorkspaceRef = { subscriptionId: randomUUID(), resourceGroup: 'rg-noisy', workspaceName: 'law-noisy' };
  let quiet: WorkspaceRef;
  let stack: TestStack;

  before(async () => {
    // 6 per minute (one every 10 s), 2 at once.
    stack = await startTestStack({
      SENTINEL_ALLOWED_WORKSPACES: `${noisy.subscriptionId}/${noisy.resourceGroup}/${noisy.workspaceName}`,
      GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE: '6',
      GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION: '2',
    });
    stack.simulator.sentinel.addWorkspace(noisy);
    quiet = stack.simulator.sentinel.defaultWorkspace;
  });
  after(async () => {
    await stack?.stop();
  });

  const [accountName, upnSuffix] = DEMO_USER.split('@');
  const seedIn = (workspace: WorkspaceRef, index: number) =>
    stack.simulator.sentinel.seedIncident({
      title: `Impossible travel activity ${index}`,
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
      workspace,
    });
  const post = (incidentId: string) => stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(incidentId, 'Create'));

  it("refuses a tenant beyond its share before reading or starting anything, and serves another tenant's incident", async () => {
    const storm = Array.from({ length: 5 }, (_, index) => seedIn(noisy, index));
    const answers = [];
    for (const incident of storm) answers.push({ incident, response: await post(incident.name) });
    assert.deepEqual(
      answers.map(({ response }) => response.status),
      [200, 200, 429, 429, 429],
      JSON.stringify(answers.map(({ response }) => response.body)),
    );
    const readsBefore = stack.simulator.armThrottle.served({ kind: 'reads', subscriptionId: noisy.subscriptionId });
    for (const { incident, response } of answers.slice(2)) {
      const retryAfter = Number(response.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${response.headers.get('retry-after')}`);
      assert.equal(response.body.error.code, 'subscription_rate_limited');
      assert.equal(response.body.error.subscriptionId, noisy.subscriptionId);
      assert.match(response.body.error.message, /nothing was started; retry after \d+ s/);
      assert.equal((await stack.get(`/api/incidents/${incident.name}`)).status, 404);
    }
    // A refused POST read nothing: a second refusal adds no ARM read for the noisy subscription.
    const again = await post(storm[4].name);
    assert.equal(again.status, 429);
    assert.equal(stack.simulator.armThrottle.served({ kind: 'reads', subscriptionId: noisy.subscriptionId }), readsBefore);

    // The quiet tenant is served at once: its bucket is its own.
    const quietIncident = seedIn(quiet, 99);
    const served = await post(quietIncident.name);
    assert.equal(served.status, 200, JSON.stringify(served.body));
    assert.equal(served.body.status, 'verification_initiated');

    const metrics = await fetch(`${stack.gateway.url}/metrics`).then((response) => response.text());
    assert.match(metrics, new RegExp(`itdr_incidents_refused_total\\{subscription="${noisy.subscriptionId}"\\} 4`));
    assert.doesNotMatch(metrics, new RegExp(`itdr_incidents_refused_total\\{subscription="${quiet.subscriptionId}"\\}`));
  });

  it("serves the refused tenant's retry once its bucket has refilled", async () => {
    const incident = seedIn(noisy, 100);
    const refused = await post(incident.name);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 200));
    const retried = await post(incident.name);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.status, 'verification_initiated');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagedIdentityCredential } from '@azure/identity';
import { SentinelClient } from '../../src/clients/sentinel-client';
import type { RunningSimulator } from '../../tools/simulator';
import { ARM_BUCKETS } from '../../tools/simulator/arm-throttle';
import { startTestSimulator } from './helpers';

/** ARM's throttling in the simulator, and the product's Sentinel client slowing down before it. */
describe('ARM throttling', () => {
  let sim: RunningSimulator;
  const credential = () => new ManagedIdentityCredential();

  before(async () => {
    sim = await startTestSimulator();
    Object.assign(process.env, sim.identityEnv);
  });
  after(async () => {
    await sim?.close();
  });

  const commentUrl = (
    workspace: { subscriptionId: string; resourceGroup: string; workspaceName: string },
    incidentId: string,
    commentId: string,
  ) =>
    `${sim.urls.arm}/subscriptions/${workspace.subscriptionId}/resourceGroups/${workspace.resourceGroup}/providers` +
    `/Microsoft.OperationalInsights/workspaces/${workspace.workspaceName}/providers/Microsoft.SecurityInsights/incidents` +
    `/${incidentId}/comments/${commentId}?api-version=2024-09-01`;

  it("answers 429 with Retry-After once a principal has spent its subscription's writes, and changes nothing", async () => {
    sim.armThrottle.reset();
    sim.armThrottle.shapes.writes = { capacity: 3, refillPerSecond: 0.5 };
    try {
      const token = (await credential().getToken(`${sim.urls.arm}/.default`)).token;
      const workspace = sim.sentinel.defaultWorkspace;
      const other = sim.sentinel.addWorkspace({
        subscriptionId: '0b7d2a1c-3e4f-4c3a-9e5f-6a0c4f2e8d1b',
        resourceGroup: 'rg-other',
        workspaceName: 'law-other',
      });
      const incident = sim.sentinel.seedIncident({ title: 'Throttled', severity: 'Low' });
      const otherIncident = sim.sentinel.seedIncident({ title: 'Other tenant', severity: 'Low', workspace: other });
      const put = (ws: typeof workspace, incidentId: string, n: number) =>
        fetch(commentUrl(ws, incidentId, `00000000-0000-4000-8000-00000000000${n}`), {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ properties: { message: `comment ${n}` } }),
        });
      const answers = [];
      for (let n = 1; n <= 4; n++) answers.push(await put(workspace, incident.name, n));
      assert.deepEqual(
        answers.map((answer) => (answer.status < 300 ? 'accepted' : answer.status)),
        ['accepted', 'accepted', 'accepted', 429],
      );
      assert.deepEqual(
        answers.map((answer) => answer.headers.get('x-ms-ratelimit-remaining-subscription-writes')),
        ['2', '1', '0', '0'],
      );
      assert.equal(answers[3].headers.get('retry-after'), '2');
      assert.equal(((await answers[3].json()) as { error: { code: string } }).error.code, 'TooManyRequests');
      assert.equal(sim.sentinel.listComments(incident.name).length, 3, 'the refused write changed nothing');
      // Another subscription has a bucket of its own; reads have theirs.
      assert.ok((await put(other, otherIncident.name, 1)).status < 300);
      const read = await fetch(commentUrl(workspace, incident.name, '00000000-0000-4000-8000-000000000001'), {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('x-ms-ratelimit-remaining-subscription-reads'), String(ARM_BUCKETS.reads.capacity - 1));
      assert.equal(sim.armThrottle.throttled({ kind: 'writes' }), 1);
      assert.equal(sim.armThrottle.throttled({ subscriptionId: other.subscriptionId }), 0);
    } finally {
      sim.armThrottle.shapes.writes = ARM_BUCKETS.writes;
      sim.armThrottle.reset();
    }
  });

  it('the Sentinel client slows down on the remaining-writes header before ARM refuses', async () => {
    sim.armThrottle.reset();
    // A small bucket at ARM's refill rate: 40 writes, 10 in flight, would outrun it at full speed.
    sim.armThrottle.shapes.writes = { capacity: 25, refillPerSecond: ARM_BUCKETS.writes.refillPerSecond };
    try {
      const sentinel = new SentinelClient(credential(), {
        armEndpoint: sim.urls.arm,
        sentinelApiVersion: '2024-09-01',
        httpTimeoutMs: 30_000,
      } as never);
      const incident = sim.sentinel.seedIncident({ title: 'Many comments', severity: 'Low' });
      const ids = Array.from({ length: 40 }, (_, n) => `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`);
      const started = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < ids.length) {
            const id = ids[next++];
            await sentinel.upsertComment(sim.sentinel.defaultWorkspace, incident.name, id, `comment ${id}`);
          }
        }),
      );
      assert.equal(sim.sentinel.listComments(incident.name).length, 40);
      assert.equal(sim.armThrottle.throttled(), 0, 'no 429: the client slowed down first');
      // 40 writes from a bucket of 25 refilled at 10/s cannot take less than about 1.5 s.
      assert.ok(Date.now() - started >= 1_000, `paced (${Date.now() - started} ms)`);
    } finally {
      sim.armThrottle.shapes.writes = ARM_BUCKETS.writes;
      sim.armThrottle.reset();
    }
  });
});

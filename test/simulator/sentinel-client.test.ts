import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagedIdentityCredential } from '@azure/identity';
import { SentinelClient, SentinelConflictError } from '../../src/clients/sentinel-client';
import type { RunningSimulator } from '../../tools/simulator';
import { startTestSimulator } from './helpers';

/** The product's Sentinel client (read-modify-write with etags) against the simulated ARM API. */
describe('SentinelClient', () => {
  let sim: RunningSimulator;
  let sentinel: SentinelClient;

  before(async () => {
    sim = await startTestSimulator();
    Object.assign(process.env, sim.identityEnv);
    sentinel = new SentinelClient(new ManagedIdentityCredential(), {
      armEndpoint: sim.urls.arm,
      sentinelApiVersion: '2024-09-01',
      httpTimeoutMs: 10_000,
    } as never);
  });
  after(async () => {
    await sim?.close();
  });

  const workspace = () => sim.sentinel.defaultWorkspace;

  it('re-reads and re-applies after an etag conflict, and keeps what an analyst set', async () => {
    const incident = sim.sentinel.seedIncident({
      title: 'Conflict',
      severity: 'Low',
      owner: { email: 'analyst@contoso.com', assignedTo: 'Ana Lyst' },
    });
    let calls = 0;
    const result = await sentinel.modifyIncident(workspace(), incident.name, (current) => {
      calls += 1;
      // A person edits the incident between our read and our write, the first time only.
      if (calls === 1) sim.sentinel.simulateAnalystEdit(incident.name, { description: 'added by the analyst' });
      return { ...current, severity: 'High' };
    });
    assert.equal(result.kind, 'updated');
    assert.equal(calls, 2, 'the change was applied again on the fresh read');
    const stored = sim.sentinel.getIncident(incident.name)!;
    assert.equal(stored.properties.severity, 'High');
    assert.equal(stored.properties.description, 'added by the analyst');
    assert.equal(stored.properties.owner?.email, 'analyst@contoso.com');
  });

  it('gives up after repeated conflicts with a retryable error', async () => {
    const incident = sim.sentinel.seedIncident({ title: 'Busy', severity: 'Low' });
    await assert.rejects(
      sentinel.modifyIncident(workspace(), incident.name, (current) => {
        sim.sentinel.simulateAnalystEdit(incident.name, { description: `edit ${Date.now()}` });
        return { ...current, severity: 'Medium' };
      }),
      SentinelConflictError,
    );
  });

  it('reports a deleted incident as not found, and the same comment id twice as one comment', async () => {
    assert.equal((await sentinel.modifyIncident(workspace(), 'no-such-incident', (current) => current)).kind, 'not-found');
    const incident = sim.sentinel.seedIncident({ title: 'Comments', severity: 'Low' });
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    await sentinel.upsertComment(workspace(), incident.name, id, 'first');
    await sentinel.upsertComment(workspace(), incident.name, id, 'first');
    assert.equal(sim.sentinel.listComments(incident.name).length, 1);
  });

  it(
    "reads the sign-in's client from the alerts' additionalData as strings " + "(the SDK's mapper would split them into characters)",
    async () => {
      const incident = sim.sentinel.seedIncident({
        title: 'Atypical travel',
        severity: 'Medium',
        alerts: [
          { displayName: 'Atypical travel', startTimeUtc: '2026-12-03T06:12:00.000Z', clientApp: 'Browser', userAgent: 'Mozilla/5.0' },
          { displayName: 'Unfamiliar sign-in properties' },
        ],
      });
      const alerts = await sentinel.listAlerts(workspace(), incident.name);
      assert.deepEqual(
        alerts.map(({ displayName, startTime, clientApp, userAgent }) => ({ displayName, startTime, clientApp, userAgent })),
        [
          { displayName: 'Atypical travel', startTime: '2026-12-03T06:12:00.000Z', clientApp: 'Browser', userAgent: 'Mozilla/5.0' },
          { displayName: 'Unfamiliar sign-in properties', startTime: alerts[1].startTime, clientApp: undefined, userAgent: undefined },
        ],
      );
    },
  );

  it('honours 429 Retry-After from ARM', async () => {
    const incident = sim.sentinel.seedIncident({ title: 'Throttled', severity: 'Low' });
    sim.faults.add({ service: 'arm', method: 'GET', status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const snapshot = await sentinel.getIncident(workspace(), incident.name);
    assert.equal(snapshot?.title, 'Throttled');
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
  });
});

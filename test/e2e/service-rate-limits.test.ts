import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * SENTINEL_RATE_LIMIT_PER_SECOND: the Temporal server dispatches the Sentinel activities of every worker at
 * no more than this rate, so a burst of incidents cannot drain ARM's write bucket. A low limit makes the
 * effect visible in the simulated ARM's audit log (each successful write is an entry with its time).
 */
describe('service rate limits', () => {
  const PER_SECOND = 2;
  const INCIDENTS = 16;
  // The server's limiter lets a short burst through (its buckets start full); ARM's own bucket holds 200.
  const BURST = 8;
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ SENTINEL_RATE_LIMIT_PER_SECOND: String(PER_SECOND) });
  });
  after(async () => {
    await stack?.stop();
  });

  it('a burst of incidents writes to ARM no faster than the configured rate, and loses none', async () => {
    const incidents = Array.from({ length: INCIDENTS }, (_, i) =>
      stack.simulator.sentinel.seedIncident({
        title: `Burst ${i}`,
        severity: 'Medium',
        accounts: [{ accountName: 'demo.user', upnSuffix: 'contoso.com' }],
      }),
    );
    const started = await Promise.all(
      incidents.map((incident) => stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER })),
    );
    assert.deepEqual(
      started.map((answer) => answer.status),
      incidents.map(() => 200),
      JSON.stringify(started.map((answer) => answer.body)),
    );
    // Every verification writes its "verification requested" comment, through the throttled queue.
    const writes = await eventually(
      async () => {
        const entries = incidents.flatMap((incident) =>
          stack.simulator.sentinel.auditLog(incident.name).filter((entry) => entry.kind === 'commentCreated'),
        );
        return entries.length >= INCIDENTS ? entries.map((entry) => new Date(entry.at).getTime()).sort((a, b) => a - b) : undefined;
      },
      60_000,
      'every incident to get its comment',
    );
    assert.equal(writes.length, INCIDENTS, 'one comment per incident, none duplicated');
    // Replayed against a token bucket of BURST tokens refilling at the configured rate, no write is refused:
    // any k consecutive writes span at least (k - BURST) / rate seconds.
    const offsets = writes.map((at) => at - writes[0]);
    for (let i = 0; i < writes.length; i++) {
      for (let j = i + BURST; j < writes.length; j++) {
        const count = j - i + 1;
        const seconds = (writes[j] - writes[i]) / 1000;
        assert.ok(
          count <= BURST + PER_SECOND * seconds + 1,
          `${count} writes within ${seconds} s exceed ${PER_SECOND}/s plus a burst of ${BURST} (${offsets.join(', ')} ms)`,
        );
      }
    }
    const spanSeconds = (writes[writes.length - 1] - writes[0]) / 1000;
    assert.ok(
      spanSeconds >= (INCIDENTS - BURST) / PER_SECOND,
      `${INCIDENTS} writes spread over only ${spanSeconds} s (${offsets.join(', ')} ms)`,
    );
  });
});

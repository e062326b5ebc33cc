import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * GATEWAY_ARM_REQUESTS_PER_SECOND / GATEWAY_ARM_BURST: the gateway's own ARM reads (three per POST: incident,
 * entities, alerts) take a token first; a POST that would wait more than half the link deadline is answered 503 `sentinel_busy` with
 * Retry-After and starts nothing.
 */
describe("the gateway's ARM request budget", () => {
  let stack: TestStack;

  before(async () => {
    // Each POST reads three things (incident, entities, alerts) at once: 3/s and 6 at once serve one POST a second, two at once.
    stack = await startTestStack({ GATEWAY_ARM_REQUESTS_PER_SECOND: '3', GATEWAY_ARM_BURST: '6', GATEWAY_LINK_DEADLINE: '4s' });
  });
  after(async () => {
    await stack?.stop();
  });

  it('a burst beyond the budget waits, then is refused with Retry-After; nothing is started for a refused POST', async () => {
    const incidents = Array.from({ length: 8 }, (_, i) =>
      stack.simulator.sentinel.seedIncident({
        title: `Burst ${i}`,
        severity: 'Medium',
        accounts: [{ accountName: 'demo.user', upnSuffix: 'contoso.com' }],
      }),
    );
    const post = (incidentId: string) =>
      fetch(`${stack.gateway.url}/api/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
        body: JSON.stringify({ incidentId, severity: 'Medium', userEmail: DEMO_USER }),
      });
    const answers = await Promise.all(incidents.map(async (incident) => ({ incident, response: await post(incident.name) })));
    const busy = answers.filter(({ response }) => response.status === 503);
    const served = answers.filter(({ response }) => response.status === 200);
    // 2 at once, then 1/s for up to 2 s: 4 or so served, the rest refused (timing on a loaded machine may serve one more).
    assert.equal(busy.length + served.length, incidents.length, `statuses: ${answers.map(({ response }) => response.status).join(', ')}`);
    assert.ok(served.length >= 2 && busy.length >= 2, `served ${served.length}, refused ${busy.length}`);
    for (const { incident, response } of busy) {
      const retryAfter = Number(response.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${response.headers.get('retry-after')}`);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'sentinel_busy');
      assert.match(body.error.message, /retry after \d+ s/);
      assert.equal((await stack.get(`/api/incidents/${incident.name}`)).status, 404, 'no verification for a refused POST');
    }
    // The caller's retry, once the budget has refilled, is served.
    const [{ incident: refused }] = busy;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const retried = await post(refused.name);
    assert.equal(retried.status, 200);
    assert.equal(((await retried.json()) as { status: string }).status, 'verification_initiated');
  });
});

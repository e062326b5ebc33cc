import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * GATEWAY_RATE_LIMIT_PER_MINUTE=5: per caller on the control endpoints, per IP for failed authentications (control
 * endpoints and webhook). GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE=8: authenticated webhooks per IP.
 */
describe('rate limiting', () => {
  const LIMIT = 5;
  const WEBHOOK_LIMIT = 8;
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({
      GATEWAY_RATE_LIMIT_PER_MINUTE: String(LIMIT),
      GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE: String(WEBHOOK_LIMIT),
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const bearer = () => ({
    'x-api-key': '',
    authorization:
      'Bearer ' + stack.simulator.entraTokens.issue({ audience: stack.entraCaller.audience, objectId: stack.entraCaller.objectId }),
  });
  const unknownIncident = () => `/api/incidents/${randomUUID()}`;

  async function expect429(answer: Promise<Response>) {
    const response = await answer;
    assert.equal(response.status, 429);
    const retryAfter = Number(response.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${response.headers.get('retry-after')}`);
    const body = (await response.json()) as { error: { code: string; message: string; retryAfterSeconds: number } };
    assert.equal(body.error.code, 'rate_limited');
    assert.match(body.error.message, /Too many requests/);
    assert.equal(body.error.retryAfterSeconds, retryAfter);
  }

  it('per authenticated caller: the API-key caller is limited, the Entra caller is not affected', async () => {
    for (let i = 0; i < LIMIT; i++) assert.equal((await stack.get(unknownIncident())).status, 404);
    await expect429(fetch(`${stack.gateway.url}${unknownIncident()}`, { headers: { 'x-api-key': stack.apiKey } }));
    assert.equal((await stack.get(unknownIncident(), bearer())).status, 404, 'another caller has its own budget');
  });

  it('per IP for failed authentications, which never lock out an authenticated caller', async () => {
    for (let i = 0; i < LIMIT; i++)
      assert.equal((await stack.get(unknownIncident(), { 'x-api-key': `wrong-${i}-wrong-wrong-wrong-wrong` })).status, 401);
    await expect429(fetch(`${stack.gateway.url}${unknownIncident()}`, { headers: { 'x-api-key': 'wrong-again-wrong-again-wrong' } }));
    await expect429(fetch(`${stack.gateway.url}${unknownIncident()}`, { headers: { authorization: 'Bearer forged.forged.forged' } }));
    assert.equal((await stack.get(unknownIncident(), bearer())).status, 404, 'a valid token still passes');
  });

  it('per IP on the webhook: failed authentications are refused past the budget, without locking Incode out', async () => {
    const forged = () =>
      stack.webhook({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: randomUUID() }, 'wrong-secret-wrong-secret-wrong');
    for (let i = 0; i < LIMIT; i++) assert.equal((await forged()).status, 401);
    await expect429(
      fetch(`${stack.gateway.url}/api/webhooks/incode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [stack.gatewayConfig.webhook.headerName]: 'wrong-secret-wrong-secret-wrong' },
        body: JSON.stringify({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: randomUUID() }),
      }),
    );
    // Incode's own webhooks from the same address still pass (an unknown incident: 404, not 401 or 429)...
    const genuine = () => stack.webhook({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: randomUUID() });
    for (let i = 0; i < WEBHOOK_LIMIT; i++) assert.equal((await genuine()).status, 404);
    // ...up to their own, larger budget.
    await expect429(
      fetch(`${stack.gateway.url}/api/webhooks/incode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [stack.gatewayConfig.webhook.headerName]: stack.webhookSecret },
        body: JSON.stringify({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: randomUUID() }),
      }),
    );
    // Health endpoints are not limited.
    assert.equal((await fetch(`${stack.gateway.url}/healthz`)).status, 200);
  });
});

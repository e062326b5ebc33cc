import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { webhookTokenRequests } from '../../tools/simulator/webhook-sender';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/** Token lifetime in this stack: short, so expiry can be observed. */
const TTL_SECONDS = 6;

/**
 * INCODE_WEBHOOK_AUTH=oauth2: Incode gets a token at the gateway's token URL (client credentials, HTTP Basic)
 * and sends it as a bearer token with each webhook; the shared-secret header is no longer accepted.
 */
describe('Incode webhooks with OAuth2 authentication', () => {
  let stack: TestStack;
  let oauth2: NonNullable<TestStack['webhookOAuth2']>;

  before(async () => {
    stack = await startTestStack({ INCODE_WEBHOOK_AUTH: 'oauth2', INCODE_WEBHOOK_TOKEN_TTL: `${TTL_SECONDS}s` });
    assert.ok(stack.webhookOAuth2, 'the local stack configured the simulated Incode for OAuth2');
    oauth2 = stack.webhookOAuth2;
  });
  after(async () => {
    await stack?.stop();
  });

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  async function token(body: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${stack.gateway.url}/api/webhooks/incode/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
  }
  const webhookWith = (
    headers: Record<string, string>,
    body: unknown = { eventType: 'SESSION_SUCCEEDED', externalCustomerId: 'not-an-incident', interviewId: 'abc' },
  ) => stack.post('/api/webhooks/incode', body, { 'x-api-key': '', ...headers });

  it('issues a bearer token for HTTP Basic client credentials', async () => {
    const issued = await token('grant_type=client_credentials', { authorization: basic(oauth2.clientId, oauth2.clientSecret) });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.body.token_type, 'Bearer');
    assert.equal(issued.body.expires_in, TTL_SECONDS);
    assert.equal(String(issued.body.access_token).split('.').length, 3, 'a signed JWT');
    assert.equal(issued.headers.get('cache-control'), 'no-store');
    // Authenticated: the webhook is read (and refused only because no verification matches it).
    const accepted = await webhookWith({ authorization: `Bearer ${issued.body.access_token}` });
    assert.equal(accepted.status, 404, JSON.stringify(accepted.body));
    assert.equal(accepted.body.error.code, 'unknown_incident');
  });

  it('accepts client_id and client_secret in the form too', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: oauth2.clientId, client_secret: oauth2.clientSecret });
    const issued = await token(form.toString());
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal((await webhookWith({ authorization: `Bearer ${issued.body.access_token}` })).status, 404);
  });

  it('refuses wrong or missing client credentials with 401 invalid_client, and other grants with 400', async () => {
    const wrongSecret = await token('grant_type=client_credentials', {
      authorization: basic(oauth2.clientId, 'not-the-secret-not-the-secret'),
    });
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
    assert.equal(wrongSecret.body.access_token, undefined);
    const wrongId = await token(
      new URLSearchParams({ grant_type: 'client_credentials', client_id: 'someone-else', client_secret: oauth2.clientSecret }).toString(),
    );
    assert.equal(wrongId.status, 401);
    assert.equal(wrongId.body.error, 'invalid_client');
    const none = await token('grant_type=client_credentials');
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'invalid_client');
    const password = await token('grant_type=password&username=a&password=b', {
      authorization: basic(oauth2.clientId, oauth2.clientSecret),
    });
    assert.equal(password.status, 400);
    assert.equal(password.body.error, 'unsupported_grant_type');
  });

  it('refuses webhooks without a valid bearer token, including the shared-secret header', async () => {
    const sharedSecret = await stack.webhook({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: 'not-an-incident', interviewId: 'abc' });
    assert.equal(sharedSecret.status, 401);
    assert.equal(sharedSecret.body.error.code, 'unauthenticated');
    assert.equal((await webhookWith({})).status, 401);
    const forged = await webhookWith({ authorization: 'Bearer bm90LWEtdG9rZW4tbm90LWEtdG9rZW4tbm90LWEtdG9rZW4' });
    assert.equal(forged.status, 401);
    assert.match(String(forged.body.error.message), /bearer token/);
    const clientSecretAsBearer = await webhookWith({ authorization: `Bearer ${oauth2.clientSecret}` });
    assert.equal(clientSecretAsBearer.status, 401);
  });

  it('refuses an expired token', async () => {
    const issued = await token('grant_type=client_credentials', { authorization: basic(oauth2.clientId, oauth2.clientSecret) });
    assert.equal(issued.status, 200);
    assert.equal((await webhookWith({ authorization: `Bearer ${issued.body.access_token}` })).status, 404);
    await sleep(TTL_SECONDS * 1000 + 300);
    const expired = await webhookWith({ authorization: `Bearer ${issued.body.access_token}` });
    assert.equal(expired.status, 401);
  });

  it('a verification completes end to end, the simulated Incode fetching its token first', async () => {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel activity',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    const tokensBefore = webhookTokenRequests.count;
    const done = await stack.simulator.incode.completeSession(started.body.interviewId, 'succeeded');
    assert.deepEqual(done.webhook, { delivered: true, attempts: 1, lastStatus: 200 });
    assert.equal(webhookTokenRequests.count, tokensBefore + 1, 'one token request before the webhook');

    const closed = await eventually(async () => {
      const current = stack.simulator.sentinel.getIncident(incident.name);
      return current?.properties.status === 'Closed' ? current : undefined;
    });
    assert.equal(closed.properties.classification, 'FalsePositive');
    const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.confirmedBy, 'webhook+read-back');
  });

  it('the simulated Incode reuses its token until it expires', async () => {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const finish = async () => {
      const incident = stack.simulator.sentinel.seedIncident({
        title: 'Unfamiliar sign-in',
        severity: 'Low',
        accounts: [{ accountName, upnSuffix }],
      });
      const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Low', userEmail: DEMO_USER });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      return { started, completion: await stack.simulator.incode.completeSession(started.body.interviewId, 'failed') };
    };
    // A fresh target (as after changing it in Incode's dashboard) starts without a cached token.
    stack.simulator.setWebhookTarget(`${stack.gateway.url}/api/webhooks/incode`, {}, oauth2);
    const tokensBefore = webhookTokenRequests.count;
    // Two webhooks in a row, well within the token's lifetime: one token request.
    const first = await finish();
    const second = await finish();
    assert.ok([first, second].every((done) => done.completion.webhook.delivered));
    assert.equal(webhookTokenRequests.count - tokensBefore, 1);
    // After the lifetime a new token is fetched, and the webhook still gets through.
    await sleep(TTL_SECONDS * 1000 + 300);
    const third = await finish();
    assert.equal(third.completion.webhook.delivered, true);
    assert.equal(webhookTokenRequests.count - tokensBefore, 2);
    for (const { started } of [first, second, third])
      await stack.client.workflow
        .getHandle(started.body.workflowId)
        .terminate('test done')
        .catch(() => undefined);
  });

  it('no token or client secret appears in the logs', async () => {
    const text = stack.logs.text;
    assert.match(text, /incode webhook token issued/);
    assert.ok(!text.includes(oauth2.clientSecret), 'log leaks the client secret');
    const issued = await token('grant_type=client_credentials', { authorization: basic(oauth2.clientId, oauth2.clientSecret) });
    await webhookWith({ authorization: `Bearer ${issued.body.access_token}` });
    await sleep(100);
    assert.ok(!stack.logs.text.includes(issued.body.access_token), 'log leaks a token');
  });
});

import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { verificationWorkflowId } from '../../src/shared/ids';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Entra ID bearer tokens end to end: the simulator's tenant issues RS256 access tokens and publishes its keys at
 * the jwks_uri of its OpenID configuration; the gateway fetches them from there (GATEWAY_ENTRA_AUTHORITY_HOST =
 * the simulator) exactly as it would from login.microsoftonline.com.
 */
describe('control endpoints with Entra ID bearer tokens', () => {
  let stack: TestStack;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const bearer = (token: string) => ({ 'x-api-key': '', authorization: `Bearer ${token}` });
  const playbookToken = (overrides: Parameters<TestStack['simulator']['entraTokens']['issue']>[0] | object = {}) =>
    stack.simulator.entraTokens.issue({ audience: stack.entraCaller.audience, objectId: stack.entraCaller.objectId, ...overrides });
  function seed() {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    return stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel activity',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
  }
  const workflowIdOf = (id: string) => verificationWorkflowId(stack.simulator.sentinel.defaultWorkspace, id);

  it("the simulator publishes the tenant's OpenID configuration and signing keys", async () => {
    const base = `${stack.simulator.urls.entra}/${stack.simulator.tenantId}`;
    const v2 = (await (await fetch(`${base}/v2.0/.well-known/openid-configuration`)).json()) as { jwks_uri: string; issuer: string };
    assert.equal(v2.issuer, `${base}/v2.0`);
    const keys = (await (await fetch(v2.jwks_uri)).json()) as { keys: Array<{ kid: string; kty: string; alg: string; d?: string }> };
    assert.deepEqual(
      keys.keys.map((key) => key.kid),
      [stack.simulator.entraTokens.currentKey.kid],
    );
    assert.equal(keys.keys[0].kty, 'RSA');
    assert.equal(keys.keys[0].d, undefined, 'no private part is published');
    const v1 = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string };
    assert.equal(v1.issuer, `https://sts.windows.net/${stack.simulator.tenantId}/`);
    assert.equal(stack.gatewayConfig.entra?.jwksUrl, v2.jwks_uri);
  });

  it("a token of the playbook's managed identity starts a verification, named in the audit comment", async () => {
    const incident = seed();
    const started = await stack.post(
      '/api/incidents',
      { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER },
      bearer(playbookToken()),
    );
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.status, 'verification_initiated');
    // The "verification requested" comment is written by the workflow, shortly after the link is returned.
    const comment = await eventually(async () => stack.simulator.sentinel.listComments(incident.name)[0]?.properties.message);
    assert.match(comment, /Requested by: sentinel-playbook/);

    // v2.0 token (audience = the app's client id, issuer {authority}/{tenant}/v2.0) for the status endpoint.
    const v2 = playbookToken({ version: '2.0', audience: stack.entraCaller.clientId });
    const status = await stack.get(`/api/incidents/${incident.name}`, bearer(v2));
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.equal(status.body.workflowId, workflowIdOf(incident.name));
    await stack.client.workflow.getHandle(started.body.workflowId).terminate('test done');
  });

  it('refuses every bad token with 401, a clear message and no details, and starts nothing', async () => {
    const incident = seed();
    const body = { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER };
    const now = Math.floor(Date.now() / 1000);
    const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const good = playbookToken();
    const [header, payload, signature] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: stack.simulator.entraTokens.currentKey.kid })}.${payload}`;
    const publicPem = stack.simulator.entraTokens.currentKey.publicKey.export({ type: 'spki', format: 'pem' });
    const cases: Array<[string, string, RegExp]> = [
      ['wrong audience', playbookToken({ audience: 'https://management.azure.com' }), /audience not accepted/],
      ['wrong issuer', playbookToken({ claims: { iss: `https://sts.windows.net/${randomUUID()}/` } }), /issuer not accepted/],
      ['another tenant', playbookToken({ claims: { tid: randomUUID() } }), /tenant not accepted/],
      ['expired', playbookToken({ issuedAt: new Date((now - 7200) * 1000), lifetimeSeconds: 3600 }), /expired/],
      ['not yet valid', playbookToken({ claims: { nbf: now + 900 } }), /not yet valid/],
      ['unknown kid', playbookToken({ header: { kid: 'no-such-key', x5t: 'no-such-key' } }), /signing key not recognised/],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`, /signing algorithm not accepted/],
      [
        'HS256 with the public key',
        `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`,
        /signing algorithm not accepted/,
      ],
      ['disallowed oid', playbookToken({ objectId: randomUUID() }), /caller is not allowed/],
      ['tampered payload', `${header}.${b64({ ...claims, oid: randomUUID() })}.${signature}`, /signature verification failed/],
      ['tampered signature', `${header}.${payload}.${signature.slice(0, -6)}AAAAAA`, /signature verification failed/],
      ['forged with another key', playbookToken({ signWith: rogue }), /signature verification failed/],
      ['not a JWT', 'not-a-jwt', /not a well-formed JWT/],
    ];
    for (const [what, token, message] of cases) {
      for (const call of [
        () => stack.post('/api/incidents', body, bearer(token)),
        () => stack.get(`/api/incidents/${incident.name}`, bearer(token)),
      ]) {
        const answer = await call();
        assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.error.code, 'unauthenticated', what);
        assert.match(answer.body.error.message, message, what);
        const text = JSON.stringify(answer.body);
        for (const detail of [
          stack.entraCaller.audience,
          stack.entraCaller.clientId,
          stack.entraCaller.objectId,
          stack.simulator.tenantId,
          'stack',
        ]) {
          assert.ok(!text.includes(detail), `${what}: the answer leaks ${detail}: ${text}`);
        }
        assert.doesNotMatch(text, /\.js:\d+|JWS|JWT[A-Z]|ERR_/, `${what}: the answer carries internals: ${text}`);
      }
    }
    const raw = await fetch(`${stack.gateway.url}/api/incidents/${incident.name}`, { headers: { authorization: 'Bearer nope' } });
    assert.match(raw.headers.get('www-authenticate') ?? '', /^Bearer realm="itdr-verify", error="invalid_token"/);
    await assert.rejects(stack.client.workflow.getHandle(workflowIdOf(incident.name)).describe(), /not found/i);
    assert.equal(stack.simulator.sentinel.listComments(incident.name).length, 0);
  });

  it('one credential at a time; other schemes and missing credentials are refused', async () => {
    const path = `/api/incidents/${randomUUID()}`;
    const both = await stack.get(path, { authorization: `Bearer ${playbookToken()}` });
    assert.equal(both.status, 401);
    assert.match(both.body.error.message, /not both/);
    const basic = await stack.get(path, { 'x-api-key': '', authorization: 'Basic dXNlcjpwYXNz' });
    assert.equal(basic.status, 401);
    assert.match(basic.body.error.message, /use "Bearer <token>"/);
    const none = await stack.get(path, { 'x-api-key': '' });
    assert.equal(none.status, 401);
    assert.match(
      none.body.error.message,
      /Missing credentials: send an Entra ID bearer token \(Authorization: Bearer\) or an x-api-key header/,
    );
    // The API key still works alongside Entra ID.
    assert.equal((await stack.get(path)).status, 404);
  });

  it('no token appears in the logs', async () => {
    const token = playbookToken();
    await stack.get(`/api/incidents/${randomUUID()}`, bearer(token));
    await stack.get(`/api/incidents/${randomUUID()}`, bearer(`${token.slice(0, -4)}AAAA`));
    const signature = token.split('.')[2];
    assert.ok(!stack.logs.text.includes(signature), 'a token signature is in the logs');
    assert.match(stack.logs.text, /bearer token refused/);
  });
});

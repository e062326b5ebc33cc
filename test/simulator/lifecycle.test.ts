import assert from 'node:assert/strict';
import https from 'node:https';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import pino from 'pino';
import { startSimulator, type RunningSimulator } from '../../tools/simulator';
import { startTestSimulator, testCertificates, timed } from './helpers';

describe('simulator lifecycle and robustness', () => {
  let sim: RunningSimulator;
  const logLines: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    sim = await startTestSimulator({ logger: pino({ level: 'info' }, sink) });
  });

  after(() => sim.close());

  it('refuses to start without TLS material', async () => {
    await assert.rejects(startSimulator({} as never), /tls\.certPem and tls\.keyPem are required/);
  });

  it('listens on five distinct HTTPS ports on 127.0.0.1', () => {
    const origins = [sim.urls.incodeAuth, sim.urls.incodeApi, sim.urls.arm, sim.urls.keyVault, new URL(sim.urls.identityEndpoint).origin];
    assert.equal(new Set(origins).size, 5);
    for (const origin of origins) assert.match(origin, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers bad input with JSON errors in each service shape and keeps running', async () => {
    const garbage = await fetch(`${sim.urls.arm}/subscriptions/%E0%A4%A/x?api-version=2024-09-01`);
    assert.equal(garbage.status, 401);
    assert.ok(((await garbage.json()) as { error: { code: string } }).error.code);

    const notFound = await fetch(`${sim.urls.incodeApi}/nothing/here`);
    assert.equal(notFound.status, 404);
    const spring = (await notFound.json()) as Record<string, unknown>;
    assert.equal(spring.status, 404);
    assert.equal(spring.path, '/nothing/here');

    const tooLarge = await fetch(`${sim.urls.arm}/simulator/sentinel/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x'.repeat(400_000), severity: 'High' }),
    });
    assert.equal(tooLarge.status, 413);

    const brokenJson = await fetch(`${sim.urls.incodeApi}/simulator/incode/sessions/abc/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"outcome":',
    });
    assert.equal(brokenJson.status, 400);
    assert.deepEqual(await brokenJson.json(), { error: { code: 'BadRequest', message: 'The request body is not valid JSON.' } });

    const jsonToken = await fetch(`${sim.urls.incodeAuth}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"client_credentials"}',
    });
    assert.equal(jsonToken.status, 400);
    assert.equal(((await jsonToken.json()) as { error: string }).error, 'invalid_request');

    const badBasic = await fetch(`${sim.urls.incodeAuth}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(badBasic.status, 401);

    const stillUp = await fetch(`${sim.urls.keyVault}/secrets/x?api-version=7.5`);
    assert.equal(stillUp.status, 401);
  });

  it('delays responses with a delay fault, then answers normally', async () => {
    sim.faults.add({ service: 'incodeApi', pathIncludes: '/verify/', delayMs: 300, times: 1 });
    const { value, ms } = await timed(() => fetch(`${sim.urls.incodeApi}/verify/ffffffffffffffffffffffff`));
    assert.equal(value.status, 404);
    assert.ok(ms >= 290, `took ${ms} ms`);
  });

  it('logs requests without secrets', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: sim.incode.config.clientId,
      client_secret: sim.incode.config.clientSecret,
    });
    const token = (
      (await (await fetch(`${sim.urls.incodeAuth}/oauth2/token`, { method: 'POST', body: form })).json()) as { access_token: string }
    ).access_token;
    await fetch(`${sim.urls.incodeApi}/omni/get/score?id=abc`, {
      headers: { authorization: `Bearer ${token}`, 'x-api-key': sim.incode.config.apiKey, 'api-version': '1.0' },
    });
    const identity = new URL(sim.urls.identityEndpoint);
    identity.searchParams.set('resource', 'https://vault.azure.net');
    identity.searchParams.set('api-version', '2019-08-01');
    await fetch(identity, { headers: { 'x-identity-header': sim.identityHeader } });

    const log = logLines.join('');
    assert.match(log, /"path":"\/oauth2\/token"/);
    assert.match(log, /"path":"\/omni\/get\/score"/);
    for (const secret of [sim.incode.config.clientSecret, sim.incode.config.apiKey, token, sim.identityHeader]) {
      assert.ok(!log.includes(secret), 'a secret reached the log');
    }
  });

  it('accepts, in a second simulator, the tokens MSAL cached from the first (its cache is process-wide)', async () => {
    const read = async (target: RunningSimulator) => {
      Object.assign(process.env, target.identityEnv);
      const client = new SecretClient(target.urls.keyVault, new ManagedIdentityCredential(), {
        disableChallengeResourceVerification: true,
      });
      return (await client.getSecret('incode-api-key')).value;
    };
    assert.equal(await read(sim), sim.incode.config.apiKey);
    const second = await startTestSimulator();
    try {
      assert.equal(await read(second), second.incode.config.apiKey);
      assert.equal(second.identity.issued().length, 0, 'MSAL served its cached token');
    } finally {
      await second.close();
    }
  });

  it('closes every server promptly, keep-alive connections and pending delays included', async () => {
    const own = await startTestSimulator();
    const agent = new https.Agent({ keepAlive: true, ca: testCertificates().caPem });
    const get = (url: string) =>
      new Promise<number>((resolve, reject) => {
        https
          .get(url, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject);
      });
    assert.equal(await get(`${own.urls.keyVault}/secrets/x?api-version=7.5`), 401);
    assert.equal(await get(`${own.urls.arm}/`), 401);
    own.faults.add({ service: 'incodeApi', delayMs: 60_000, times: 1 });
    const pending = get(`${own.urls.incodeApi}/verify/abc`).catch((error: Error) => error);

    await new Promise((resolve) => setTimeout(resolve, 100));
    const { ms } = await timed(() => own.close());
    assert.ok(ms < 2000, `close took ${ms} ms`);
    assert.ok((await pending) instanceof Error, 'the delayed request was cut');
    await assert.rejects(fetch(`${own.urls.arm}/`));
    agent.destroy();
    await own.close(); // idempotent
  });
});

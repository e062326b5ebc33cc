import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { INCODE_SECRET_NAMES, localhostSubdomainAgent, vaultLocalhostUrl, type RunningSimulator } from '../../tools/simulator';
import { startTestSimulator, timed } from './helpers';

const USER_ASSIGNED = '5f1b7c3e-2a4d-4e6f-8a9b-0c1d2e3f4a5b';

describe('simulated managed identity and Key Vault, through the real SDK clients', () => {
  let sim: RunningSimulator;
  let credential: ManagedIdentityCredential;
  let secrets: SecretClient;

  before(async () => {
    sim = await startTestSimulator({ identity: { userAssignedClientIds: [USER_ASSIGNED] } });
    // MSAL picks its managed identity source from these, once per process: set them before any credential.
    Object.assign(process.env, sim.identityEnv);
    credential = new ManagedIdentityCredential();
    // A vault at 127.0.0.1 cannot pass the SDK's challenge-resource check (see key-vault.ts).
    secrets = new SecretClient(sim.urls.keyVault, credential, { disableChallengeResourceVerification: true });
  });

  after(() => sim.close());

  it('reads the six Incode secrets, matching the simulated Incode', async () => {
    const expected: Record<string, string> = {
      [INCODE_SECRET_NAMES.clientId]: sim.incode.config.clientId,
      [INCODE_SECRET_NAMES.clientSecret]: sim.incode.config.clientSecret,
      [INCODE_SECRET_NAMES.apiKey]: sim.incode.config.apiKey,
      [INCODE_SECRET_NAMES.integrationReference]: sim.incode.config.integrationReference,
      [INCODE_SECRET_NAMES.authUrl]: sim.urls.incodeAuth,
      [INCODE_SECRET_NAMES.apiBaseUrl]: sim.urls.incodeApi,
    };
    for (const [name, value] of Object.entries(expected)) {
      const secret = await secrets.getSecret(name);
      assert.equal(secret.value, value, name);
      assert.equal(secret.name, name);
      assert.equal(secret.properties.enabled, true);
      assert.equal(secret.properties.vaultUrl, sim.urls.keyVault);
      assert.match(secret.properties.version ?? '', /^[0-9a-f]{32}$/);
      assert.ok(secret.properties.createdOn instanceof Date);
      assert.equal(secret.properties.recoveryLevel, 'Recoverable+Purgeable');
    }
    // The challenge named the public vault resource, so that is what the token was asked for.
    const vaultTokens = sim.identity.issued().filter((token) => token.resource === 'https://vault.azure.net');
    assert.equal(vaultTokens.length, 1, 'one token, cached by the SDK across reads');
    assert.equal(vaultTokens[0]?.clientId, sim.systemAssignedClientId);
    assert.equal(vaultTokens[0]?.userAssigned, false);
  });

  it('passes challenge-resource verification when the vault is addressed as NAME.vault.localhost', async () => {
    const client = new SecretClient(vaultLocalhostUrl(sim.urls.keyVault), credential, { agent: localhostSubdomainAgent() });
    const secret = await client.getSecret(INCODE_SECRET_NAMES.apiKey);
    assert.equal(secret.value, sim.incode.config.apiKey);
    assert.ok(sim.identity.issued().some((token) => token.resource === 'https://vault.localhost'));
  });

  it('refuses, in the SDK, a challenge for 127.0.0.1 when verification is on', async () => {
    const client = new SecretClient(sim.urls.keyVault, credential);
    await assert.rejects(client.getSecret(INCODE_SECRET_NAMES.apiKey), /challenge resource 'vault.azure.net' does not match/);
  });

  it('gets a user-assigned identity token with client_id', async () => {
    const userAssigned = new ManagedIdentityCredential({ clientId: USER_ASSIGNED });
    const client = new SecretClient(sim.urls.keyVault, userAssigned, { disableChallengeResourceVerification: true });
    assert.equal((await client.getSecret(INCODE_SECRET_NAMES.clientId)).value, sim.incode.config.clientId);
    assert.ok(sim.identity.issued().some((token) => token.clientId === USER_ASSIGNED && token.userAssigned));
  });

  it('answers 404 SecretNotFound for a missing secret', async () => {
    await assert.rejects(secrets.getSecret('no-such-secret'), (error: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(error.statusCode, 404);
      assert.equal(error.code, 'SecretNotFound');
      assert.match(error.message, /A secret with \(name\/id\) no-such-secret was not found in this key vault/);
      return true;
    });
  });

  it('answers 403 Forbidden (SecretDisabled) for a disabled secret', async () => {
    sim.keyVault.setSecret('disabled-secret', 'x', { enabled: false });
    await assert.rejects(secrets.getSecret('disabled-secret'), (error: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(error.statusCode, 403);
      assert.equal(error.code, 'Forbidden');
      assert.match(error.message, /Operation get is not allowed on a disabled secret/);
      return true;
    });
  });

  it('serves the latest version after a rotation, and older versions by id', async () => {
    const first = sim.keyVault.setSecret('rotating', 'one');
    const second = sim.keyVault.setSecret('rotating', 'two', { expiresOn: new Date('2030-01-01T00:00:00Z'), contentType: 'text/plain' });
    const latest = await secrets.getSecret('rotating');
    assert.equal(latest.value, 'two');
    assert.equal(latest.properties.version, second.version);
    assert.equal(latest.properties.expiresOn?.toISOString(), '2030-01-01T00:00:00.000Z');
    assert.equal(latest.properties.contentType, 'text/plain');
    assert.equal((await secrets.getSecret('rotating', { version: first.version })).value, 'one');
    await assert.rejects(secrets.getSecret('rotating', { version: 'f'.repeat(32) }), { statusCode: 404, code: 'SecretNotFound' });
  });

  it('counts authenticated reads', async () => {
    const before = sim.keyVault.requestCount;
    await secrets.getSecret(INCODE_SECRET_NAMES.authUrl);
    assert.equal(sim.keyVault.requestCount, before + 1);
    assert.ok(sim.keyVault.readCount(INCODE_SECRET_NAMES.authUrl) >= 2);
  });

  it('waits out a 429 Retry-After fault (the SDK retries)', async () => {
    const fault = sim.faults.add({
      service: 'keyVault',
      pathIncludes: '/secrets/incode-api-key',
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
    });
    const { value, ms } = await timed(() => secrets.getSecret(INCODE_SECRET_NAMES.apiKey));
    assert.equal(value.value, sim.incode.config.apiKey);
    assert.equal(fault.hits, 1);
    assert.ok(ms >= 950, `retried after ${ms} ms`);
  });

  it('challenges a bare request and rejects a token for another resource', async () => {
    const bare = await fetch(`${sim.urls.keyVault}/secrets/incode-api-key?api-version=7.5`);
    assert.equal(bare.status, 401);
    assert.equal(
      bare.headers.get('www-authenticate'),
      `Bearer authorization="https://login.microsoftonline.com/${sim.tenantId}", resource="https://vault.azure.net"`,
    );
    assert.deepEqual(await bare.json(), {
      error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
    });

    const armToken = await credential.getToken(`${sim.urls.arm}/.default`);
    const wrong = await fetch(`${sim.urls.keyVault}/secrets/incode-api-key?api-version=7.5`, {
      headers: { authorization: `Bearer ${armToken.token}` },
    });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /AKV10022: Invalid audience/);

    const vaultToken = await credential.getToken('https://vault.azure.net/.default');
    const noVersion = await fetch(`${sim.urls.keyVault}/secrets/incode-api-key`, {
      headers: { authorization: `Bearer ${vaultToken.token}` },
    });
    assert.equal(noVersion.status, 400);
    assert.equal(((await noVersion.json()) as { error: { code: string } }).error.code, 'BadParameter');
  });

  it('guards the identity endpoint with X-IDENTITY-HEADER and api-version 2019-08-01', async () => {
    const url = new URL(sim.urls.identityEndpoint);
    url.searchParams.set('resource', 'https://vault.azure.net');
    url.searchParams.set('api-version', '2019-08-01');
    const noHeader = await fetch(url);
    assert.equal(noHeader.status, 401);
    assert.equal(((await noHeader.json()) as { statusCode: number }).statusCode, 401);
    const wrongHeader = await fetch(url, { headers: { 'x-identity-header': 'nope' } });
    assert.equal(wrongHeader.status, 401);

    const ok = await fetch(url, { headers: { 'x-identity-header': sim.identityHeader } });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as Record<string, string>;
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.resource, 'https://vault.azure.net');
    assert.equal(body.client_id, sim.systemAssignedClientId);
    assert.match(body.expires_on ?? '', /^\d{10}$/);
    assert.ok(Number(body.expires_on) > Date.now() / 1000 + 3000);

    url.searchParams.set('client_id', 'not-a-known-identity');
    assert.equal((await fetch(url, { headers: { 'x-identity-header': sim.identityHeader } })).status, 400);
    url.searchParams.delete('client_id');
    url.searchParams.set('api-version', '2017-09-01');
    assert.equal((await fetch(url, { headers: { 'x-identity-header': sim.identityHeader } })).status, 400);
  });

  it('recovers from an identity endpoint 503 through the SDK retry', async () => {
    const fault = sim.faults.add({ service: 'identity', status: 503, times: 1 });
    const token = await credential.getToken('https://example.invalid/.default');
    assert.ok(token.token);
    assert.equal(fault.hits, 1);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { IncodeClient } from '../../src/clients/incode-client';
import { IncodeApiError } from '../../src/clients/incode-errors';
import { KeyVaultIncodeSettings, SecretUnavailableError } from '../../src/clients/key-vault-settings';
import { DEFAULT_SECRET_NAMES } from '../../src/config/key-vault';
import type { RunningSimulator } from '../../tools/simulator';
import { startTestSimulator } from './helpers';

/** The product's Incode client and Key Vault settings, with the real SDK, against the simulator. */
describe('IncodeClient with settings from Key Vault', () => {
  let sim: RunningSimulator;
  let settings: KeyVaultIncodeSettings;
  let incode: IncodeClient;

  before(async () => {
    sim = await startTestSimulator({ incode: { directory: ['alice@contoso.com'] } });
    Object.assign(process.env, sim.identityEnv);
    const secrets = new SecretClient(sim.urls.keyVault, new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
    settings = new KeyVaultIncodeSettings(secrets, DEFAULT_SECRET_NAMES, 60_000);
    incode = new IncodeClient(settings, { timeoutMs: 5_000 });
  });
  after(async () => {
    await sim?.close();
  });

  it('creates a session with the six secrets, and reuses the token and the cached secrets', async () => {
    const reads = sim.keyVault.requestCount;
    const tokens = sim.incode.tokenRequestCount;
    const first = await incode.createSession({ loginHint: 'Alice@contoso.com', externalCustomerId: 'inc-1', linkValidityMinutes: 60 });
    await incode.createSession({ loginHint: 'alice@contoso.com', externalCustomerId: 'inc-2', linkValidityMinutes: 60 });
    assert.match(first.interviewId, /^[0-9a-f]{24}$/);
    assert.equal(sim.incode.tokenRequestCount - tokens, 1, 'one token for both calls');
    assert.ok(sim.keyVault.requestCount - reads <= 12, 'six secrets read once (plus challenge round-trips)');
    const result = await incode.getSessionResult(first.interviewId);
    assert.equal(result.state, 'NotStarted');
  });

  it('re-reads rotated credentials from Key Vault once when Incode refuses the cached ones', async () => {
    const rotated = 'rotated-secret-0123456789abcdef';
    sim.incode.rotateCredentials({ clientSecret: rotated });
    sim.incode.expireTokens();
    sim.keyVault.setSecret('incode-client-secret', rotated);
    const session = await incode.createSession({ loginHint: 'alice@contoso.com', externalCustomerId: 'inc-3', linkValidityMinutes: 60 });
    assert.ok(session.interviewId);
  });

  it('reports a failed operation once to onApiError; a 401 cured by re-reading the secrets not at all', async () => {
    const codes: string[] = [];
    const counted = new IncodeClient(settings, { timeoutMs: 5_000, onApiError: (service, code) => codes.push(`${service} ${code}`) });
    await counted.createSession({ loginHint: 'alice@contoso.com', externalCustomerId: 'inc-count-1', linkValidityMinutes: 60 });
    const rotated = 'rotated-again-0123456789abcdef';
    sim.incode.rotateCredentials({ clientSecret: rotated });
    sim.incode.expireTokens();
    sim.keyVault.setSecret('incode-client-secret', rotated);
    await counted.createSession({ loginHint: 'alice@contoso.com', externalCustomerId: 'inc-count-2', linkValidityMinutes: 60 });
    assert.deepEqual(codes, [], 'the refused token was retried with the rotated secret and the call succeeded');
    await assert.rejects(
      counted.createSession({ loginHint: 'nobody@contoso.com', externalCustomerId: 'inc-count-3', linkValidityMinutes: 60 }),
    );
    assert.equal(codes.length, 1, codes.join(', '));
  });

  it('aborts a call in progress when its cancellation fires, with the cancellation as the error', async () => {
    const controller = new AbortController();
    const cancellable = new IncodeClient(settings, { timeoutMs: 30_000, cancellation: () => controller.signal });
    sim.faults.add({ service: 'incodeApi', pathIncludes: '/omni/get/onboarding/status', delayMs: 10_000, times: 1 });
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    await assert.rejects(cancellable.getSessionResult('0123456789abcdef01234567'), (error: unknown) => error === reason);
    assert.ok(Date.now() - started < 5_000, `aborted after ${Date.now() - started} ms, not at the 10 s answer`);
    sim.faults.clear();
  });

  it('fails with a clearly named, non-retryable error when the vault still holds the wrong secret', async () => {
    sim.incode.rotateCredentials({ clientSecret: 'another-secret-0123456789abcdef' });
    sim.incode.expireTokens();
    await assert.rejects(
      incode.createSession({ loginHint: 'alice@contoso.com', externalCustomerId: 'inc-4', linkValidityMinutes: 60 }),
      (error: unknown) => {
        assert.ok(error instanceof IncodeApiError);
        assert.equal(error.kind, 'CredentialsRejected');
        assert.equal(error.retryable, false);
        assert.match(error.message, /incode-client-secret/);
        assert.ok(!error.message.includes('another-secret'), 'no secret in the message');
        return true;
      },
    );
  });

  it('names a missing or disabled secret', async () => {
    const missing = new KeyVaultIncodeSettings(
      new SecretClient(sim.urls.keyVault, new ManagedIdentityCredential(), { disableChallengeResourceVerification: true }),
      { ...DEFAULT_SECRET_NAMES, apiKey: 'incode-api-key-missing' },
      60_000,
    );
    await assert.rejects(
      missing.get(),
      (error: unknown) => error instanceof SecretUnavailableError && /"incode-api-key-missing" does not exist/.test(error.message),
    );
  });
});

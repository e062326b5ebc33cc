import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSecretExpiryActivities } from '../../src/activities/secret-expiry-activities';
import { DEFAULT_SECRET_NAMES } from '../../src/config/key-vault';
import { loadWorkerConfig } from '../../src/config/worker';
import { ConfigError } from '../../src/config/parse';
import { formatDoctorTable } from '../../src/doctor/run';
import { secretNameVariable } from '../../src/doctor/checks';

const base = {
  PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  AZURE_KEY_VAULT_URL: 'https://kv-itdr.vault.azure.net',
  SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
};

describe('Key Vault secret names and the expiry check settings', () => {
  it("defaults to Incode's six names, 90 days' warning, no hook, schedule left to the process", () => {
    const config = loadWorkerConfig(base);
    assert.deepEqual(config.keyVault.secretNames, DEFAULT_SECRET_NAMES);
    assert.deepEqual(config.secretExpiry, { warningDays: 90, webhookUrl: undefined, schedule: undefined });
  });

  it('takes KEY_VAULT_SECRET_<FIELD> overrides and SECRET_EXPIRY_*', () => {
    const config = loadWorkerConfig({
      ...base,
      KEY_VAULT_SECRET_CLIENT_ID: 'prod-incode-client-id',
      KEY_VAULT_SECRET_CLIENT_SECRET: 'prod-incode-client-secret',
      KEY_VAULT_SECRET_API_KEY: 'A'.repeat(127),
      KEY_VAULT_SECRET_INTEGRATION_REFERENCE: 'ref',
      KEY_VAULT_SECRET_AUTH_URL: 'auth-url',
      KEY_VAULT_SECRET_API_BASE_URL: 'api-base-url',
      SECRET_EXPIRY_WARNING_DAYS: '30',
      SECRET_EXPIRY_WEBHOOK_URL: 'https://hooks.example.com/expiry',
      SECRET_EXPIRY_SCHEDULE: 'false',
    });
    assert.deepEqual(config.keyVault.secretNames, {
      clientId: 'prod-incode-client-id',
      clientSecret: 'prod-incode-client-secret',
      apiKey: 'A'.repeat(127),
      integrationReference: 'ref',
      authUrl: 'auth-url',
      apiBaseUrl: 'api-base-url',
    });
    assert.deepEqual(config.secretExpiry, { warningDays: 30, webhookUrl: 'https://hooks.example.com/expiry', schedule: false });
  });

  it('refuses names Key Vault would refuse, naming the variable', () => {
    for (const bad of ['incode_client_id', 'a'.repeat(128), 'name with spaces', 'ünicode']) {
      assert.throws(
        () => loadWorkerConfig({ ...base, KEY_VAULT_SECRET_CLIENT_ID: bad }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /KEY_VAULT_SECRET_CLIENT_ID: must be a Key Vault secret name/);
          return true;
        },
      );
    }
    assert.throws(() => loadWorkerConfig({ ...base, SECRET_EXPIRY_WARNING_DAYS: '0' }), /SECRET_EXPIRY_WARNING_DAYS/);
    assert.throws(() => loadWorkerConfig({ ...base, SECRET_EXPIRY_WEBHOOK_URL: 'ftp://x' }), /SECRET_EXPIRY_WEBHOOK_URL/);
  });

  it('names the variable of each field', () => {
    assert.equal(secretNameVariable('clientSecret'), 'KEY_VAULT_SECRET_CLIENT_SECRET');
    assert.equal(secretNameVariable('apiBaseUrl'), 'KEY_VAULT_SECRET_API_BASE_URL');
  });

  it('checkSecretExpiry warns within the window, reports missing and disabled secrets, and calls the hook once', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const day = 86_400_000;
    const attributes: Record<string, { enabled?: boolean; expiresOn?: Date } | number> = {
      'incode-client-id': { enabled: true, expiresOn: new Date(now + 10 * day) },
      'incode-client-secret': { enabled: true, expiresOn: new Date(now + 100 * day) },
      'incode-api-key': 404,
      'incode-integration-reference': 403,
      'incode-auth-url': { enabled: true, expiresOn: new Date(now - 2 * day) },
      'incode-api-base-url': { enabled: true },
    };
    const client = {
      getSecret: async (name: string) => {
        const found = attributes[name];
        if (typeof found === 'number') {
          throw Object.assign(new Error(found === 403 ? 'Operation get is not allowed on a disabled secret.' : 'not found'), {
            statusCode: found,
          });
        }
        return { name, value: 'SECRET-VALUE', properties: { name, vaultUrl: 'https://kv', ...found } } as never;
      },
    };
    const posts: unknown[] = [];
    const gauge: Record<string, number | undefined> = {};
    const activities = createSecretExpiryActivities(client, DEFAULT_SECRET_NAMES, {
      warningDays: 90,
      webhookUrl: 'https://hooks.example.com/x',
      now: () => now,
      onExpiryDays: (secret, days) => (gauge[secret] = days),
      fetch: (async (_url: string, init: RequestInit) => {
        posts.push(JSON.parse(init.body as string));
        return new Response(null, { status: 204 });
      }) as typeof fetch,
    });
    const result = await activities.checkSecretExpiry();
    assert.deepEqual(result.warnings, [
      { name: 'incode-client-id', expiresOn: '2026-01-11T00:00:00.000Z', daysLeft: 10 },
      { name: 'incode-auth-url', expiresOn: '2025-12-30T00:00:00.000Z', daysLeft: -2 },
    ]);
    assert.deepEqual(
      result.secrets.map((secret) => secret.state),
      ['enabled', 'enabled', 'missing', 'disabled', 'enabled', 'enabled'],
    );
    assert.equal(result.notified, true);
    assert.equal(posts.length, 1);
    assert.deepEqual(gauge, {
      'incode-client-id': 10,
      'incode-client-secret': 100,
      'incode-api-key': undefined,
      'incode-integration-reference': undefined,
      'incode-auth-url': -2,
      'incode-api-base-url': undefined,
    });
    assert.ok(!JSON.stringify([result, posts]).includes('SECRET-VALUE'));
  });

  it('formats the doctor table with a fix only on failed rows', () => {
    const table = formatDoctorTable([
      { check: 'A', status: 'OK', detail: 'fine' },
      { check: 'Bee', status: 'FAIL', detail: 'broken', fix: 'do this' },
      { check: 'C', status: 'SKIP', detail: 'not configured' },
    ]);
    assert.equal(
      table,
      [
        'CHECK  STATUS  DETAIL          FIX',
        'A      OK      fine',
        'Bee    FAIL    broken          do this',
        'C      SKIP    not configured',
        '',
        '1 of 3 checks failed.',
      ].join('\n'),
    );
  });
});

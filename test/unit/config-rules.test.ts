import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCliConfig } from '../../src/cli/config';
import { loadGatewayConfig } from '../../src/config/gateway';
import { ConfigError } from '../../src/config/parse';
import { loadWorkerConfig } from '../../src/config/worker';

/**
 * The rules between variables (the schemas' refinements): each failure is a ConfigError whose line starts with
 * the variable to set or change, and names the variable it depends on; a valid combination loads.
 */

const KEY = Buffer.alloc(32, 7).toString('base64');
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const PLAYBOOK = '0f4e6c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b';
const gatewayEnv = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
  SENTINEL_RESOURCE_GROUP: 'soc-rg',
  SENTINEL_WORKSPACE_NAME: 'soc-ws',
  GATEWAY_API_KEYS: 'sentinel-playbook=0123456789abcdef01234567',
  INCODE_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef',
};
const workerEnv = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.net',
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
};
const { GATEWAY_API_KEYS: _keys, ...withoutApiKeys } = gatewayEnv;
const { INCODE_WEBHOOK_SECRET: _secret, ...withoutWebhookSecret } = gatewayEnv;
const entra = {
  GATEWAY_ENTRA_TENANT_ID: TENANT,
  GATEWAY_ENTRA_AUDIENCE: 'api://itdr-verify-gateway',
  GATEWAY_ENTRA_ALLOWED_CALLERS: `playbook=${PLAYBOOK}`,
};
const CLIENT = { INCODE_WEBHOOK_CLIENT_ID: 'incode-webhooks', INCODE_WEBHOOK_CLIENT_SECRET: 'client-secret-0123456789abcdef' };

/** The problem lines of the ConfigError `load` throws (without the "Invalid … configuration:" heading). */
function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    return error.message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  assert.fail('the configuration loaded');
}

describe('configuration rules between variables', () => {
  it('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together, in every process and the CLI', () => {
    for (const load of [loadWorkerConfig, loadGatewayConfig, loadCliConfig]) {
      const env = load === loadWorkerConfig ? workerEnv : gatewayEnv;
      assert.deepEqual(
        problems(() => load({ ...env, TEMPORAL_TLS_CERT_PATH: '/tls/client.pem' })),
        ['TEMPORAL_TLS_KEY_PATH: is required: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)'],
      );
      assert.deepEqual(
        problems(() => load({ ...env, TEMPORAL_TLS_KEY_PATH: '/tls/client.key' })),
        ['TEMPORAL_TLS_CERT_PATH: is required: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)'],
      );
      const both = load({ ...env, TEMPORAL_TLS_CERT_PATH: '/tls/client.pem', TEMPORAL_TLS_KEY_PATH: '/tls/client.key' });
      const temporal = 'temporal' in both ? both.temporal : both;
      assert.deepEqual(temporal.tls, { certPath: '/tls/client.pem', keyPath: '/tls/client.key', caPath: undefined });
    }
  });

  it('GATEWAY_API_KEYS is required unless GATEWAY_ENTRA_* is configured', () => {
    assert.deepEqual(
      problems(() => loadGatewayConfig(withoutApiKeys)),
      [
        'GATEWAY_API_KEYS: is required unless Entra ID authentication is configured (GATEWAY_ENTRA_TENANT_ID, ' +
          'GATEWAY_ENTRA_AUDIENCE, GATEWAY_ENTRA_ALLOWED_CALLERS)',
      ],
    );
    const config = loadGatewayConfig({ ...withoutApiKeys, ...entra });
    assert.deepEqual(config.callers, []);
    assert.equal(config.entra?.tenantId, TENANT);
  });

  it('GATEWAY_ENTRA_TENANT_ID is required when another GATEWAY_ENTRA_* variable is set', () => {
    assert.deepEqual(
      problems(() =>
        loadGatewayConfig({
          ...gatewayEnv,
          GATEWAY_ENTRA_AUDIENCE: entra.GATEWAY_ENTRA_AUDIENCE,
          GATEWAY_ENTRA_JWKS_URL: 'https://keys.example.com/keys',
        }),
      ),
      ['GATEWAY_ENTRA_TENANT_ID: is required when GATEWAY_ENTRA_AUDIENCE, GATEWAY_ENTRA_JWKS_URL is set'],
    );
    assert.equal(loadGatewayConfig(gatewayEnv).entra, undefined);
  });

  it('GATEWAY_ENTRA_AUDIENCE and GATEWAY_ENTRA_ALLOWED_CALLERS are required with GATEWAY_ENTRA_TENANT_ID', () => {
    assert.deepEqual(
      problems(() => loadGatewayConfig({ ...gatewayEnv, GATEWAY_ENTRA_TENANT_ID: TENANT })),
      [
        "GATEWAY_ENTRA_AUDIENCE: is required with GATEWAY_ENTRA_TENANT_ID (the App ID URI and/or client id of the gateway's app " +
          'registration)',
        'GATEWAY_ENTRA_ALLOWED_CALLERS: is required with GATEWAY_ENTRA_TENANT_ID (name=object-id pairs)',
      ],
    );
    // A list of separators only is as good as unset.
    assert.deepEqual(
      problems(() => loadGatewayConfig({ ...gatewayEnv, ...entra, GATEWAY_ENTRA_AUDIENCE: ' , ' })),
      [
        "GATEWAY_ENTRA_AUDIENCE: is required with GATEWAY_ENTRA_TENANT_ID (the App ID URI and/or client id of the gateway's app " +
          'registration)',
      ],
    );
  });

  it("INCODE_WEBHOOK_AUTH's credentials are required with its mode", () => {
    assert.deepEqual(
      problems(() => loadGatewayConfig(withoutWebhookSecret)),
      ['INCODE_WEBHOOK_SECRET: is required with INCODE_WEBHOOK_AUTH=shared-secret'],
    );
    assert.deepEqual(
      problems(() => loadGatewayConfig({ ...withoutWebhookSecret, INCODE_WEBHOOK_AUTH: 'oauth2' })),
      [
        'INCODE_WEBHOOK_CLIENT_ID: is required with INCODE_WEBHOOK_AUTH=oauth2',
        'INCODE_WEBHOOK_CLIENT_SECRET: is required with INCODE_WEBHOOK_AUTH=oauth2',
      ],
    );
    assert.deepEqual(
      problems(() =>
        loadGatewayConfig({
          ...withoutWebhookSecret,
          INCODE_WEBHOOK_AUTH: 'both',
          INCODE_WEBHOOK_CLIENT_ID: CLIENT.INCODE_WEBHOOK_CLIENT_ID,
        }),
      ),
      [
        'INCODE_WEBHOOK_SECRET: is required with INCODE_WEBHOOK_AUTH=both',
        'INCODE_WEBHOOK_CLIENT_SECRET: is required with INCODE_WEBHOOK_AUTH=both',
      ],
    );
    const both = loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'both', ...CLIENT }).webhook;
    assert.deepEqual(both, {
      auth: 'both',
      secret: gatewayEnv.INCODE_WEBHOOK_SECRET,
      headerName: 'x-incode-webhook-secret',
      oauth2: { clientId: CLIENT.INCODE_WEBHOOK_CLIENT_ID, clientSecret: CLIENT.INCODE_WEBHOOK_CLIENT_SECRET, tokenTtlMs: 600_000 },
    });
    // A secret the mode does not use is not kept.
    assert.equal(loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'oauth2', ...CLIENT }).webhook.secret, undefined);
  });

  it('CLOSE_CLASSIFICATION_REASON must be one of CLOSE_CLASSIFICATION’s reasons', () => {
    assert.deepEqual(
      problems(() => loadGatewayConfig({ ...gatewayEnv, CLOSE_CLASSIFICATION_REASON: 'SuspiciousButExpected' })),
      [
        'CLOSE_CLASSIFICATION_REASON: "SuspiciousButExpected" does not go with FalsePositive (CLOSE_CLASSIFICATION); use one of ' +
          'IncorrectAlertLogic, InaccurateData',
      ],
    );
    assert.equal(
      loadGatewayConfig({ ...gatewayEnv, CLOSE_CLASSIFICATION_REASON: 'InaccurateData' }).policy.closeClassificationReason,
      'InaccurateData',
    );
  });

  it('reports every broken rule at once, one line each', () => {
    assert.deepEqual(
      problems(() =>
        loadGatewayConfig({
          ...withoutWebhookSecret,
          TEMPORAL_TLS_CERT_PATH: '/tls/client.pem',
          CLOSE_CLASSIFICATION: 'BenignPositive',
          CLOSE_CLASSIFICATION_REASON: 'InaccurateData',
        }),
      ),
      [
        'TEMPORAL_TLS_KEY_PATH: is required: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)',
        'INCODE_WEBHOOK_SECRET: is required with INCODE_WEBHOOK_AUTH=shared-secret',
        'CLOSE_CLASSIFICATION_REASON: "InaccurateData" does not go with BenignPositive (CLOSE_CLASSIFICATION); use one of ' +
          'SuspiciousButExpected',
      ],
    );
  });
});

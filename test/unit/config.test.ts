import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../../src/config/gateway';
import { loadWorkerConfig } from '../../src/config/worker';
import { ConfigError, parseDuration } from '../../src/config/parse';
import { deterministicGuid, verificationWorkflowId } from '../../src/shared/ids';

const KEY = Buffer.alloc(32, 7).toString('base64');
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

describe('configuration', () => {
  it('gives the worker one Sentinel queue per served subscription, each once', () => {
    const config = loadWorkerConfig({
      ...workerEnv,
      SENTINEL_ALLOWED_WORKSPACES:
        'AAAAAAAA-2222-3333-4444-555555555555/rg-a/ws-aaa,aaaaaaaa-2222-3333-4444-555555555555/rg-b' +
        '/ws-bbb,11111111-2222-3333-4444-555555555555/rg-c/ws-ccc',
    });
    assert.deepEqual(config.sentinelSubscriptions, ['11111111-2222-3333-4444-555555555555', 'aaaaaaaa-2222-3333-4444-555555555555']);
    assert.equal(config.sentinelActivitiesPerSecond, 10);
  });

  it('gives each gateway replica its share of the budgets', () => {
    const one = loadGatewayConfig(gatewayEnv);
    const three = loadGatewayConfig({ ...gatewayEnv, GATEWAY_REPLICAS: '3' });
    assert.deepEqual(
      [one.replicas, one.armBudget, one.rateLimitPerMinute, one.webhookRateLimitPerMinute],
      [1, { perSecond: 15, burst: 150 }, 600, 6000],
    );
    assert.deepEqual(one.subscriptionIntake, { perMinute: 20, burst: 10 });
    // Held whole by each replica (docs/scaling.md says why).
    assert.deepEqual(three.subscriptionIntake, { perMinute: 20, burst: 10 });
    assert.deepEqual(
      [three.replicas, three.armBudget, three.rateLimitPerMinute, three.webhookRateLimitPerMinute],
      [3, { perSecond: 5, burst: 50 }, 200, 2000],
    );
    assert.deepEqual(one.shutdown, { drainDelayMs: 0, timeoutMs: 30_000 });
    assert.throws(() => loadGatewayConfig({ ...gatewayEnv, GATEWAY_REPLICAS: '0' }), /GATEWAY_REPLICAS/);
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION: '0' }),
      /GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION/,
    );
  });

  it('applies documented defaults', () => {
    const config = loadGatewayConfig(gatewayEnv);
    assert.equal(config.port, 8080);
    assert.equal(config.temporal.address, 'localhost:7233');
    assert.equal(config.policy.timeoutMs, 24 * 3_600_000);
    assert.equal(config.policy.closeClassification, 'FalsePositive');
    assert.equal(config.policy.closeClassificationReason, 'IncorrectAlertLogic');
    assert.equal(config.policy.escalationSeverity, 'High');
    assert.deepEqual(config.callers, [{ name: 'sentinel-playbook', key: '0123456789abcdef01234567' }]);
  });

  it('fails fast naming every missing variable', () => {
    assert.throws(
      () => loadWorkerConfig({}),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /PAYLOAD_ENCRYPTION_KEY: is required/);
        assert.match(error.message, /AZURE_KEY_VAULT_URL: is required/);
        assert.match(error.message, /SENTINEL_SUBSCRIPTION_ID: is required/);
        return true;
      },
    );
  });

  it('rejects wrong values with a reason', () => {
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, VERIFICATION_TIMEOUT: 'soon' }),
      /VERIFICATION_TIMEOUT: "soon" is not a duration/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, PAYLOAD_ENCRYPTION_KEY: 'c2hvcnQ=' }),
      /PAYLOAD_ENCRYPTION_KEY: must be 32 bytes/,
    );
    assert.throws(() => loadGatewayConfig({ ...gatewayEnv, GATEWAY_API_KEYS: 'cli=short' }), /shorter than 24/);
    assert.throws(
      () =>
        loadGatewayConfig({ ...gatewayEnv, CLOSE_CLASSIFICATION: 'BenignPositive', CLOSE_CLASSIFICATION_REASON: 'IncorrectAlertLogic' }),
      /does not go with BenignPositive/,
    );
    assert.throws(
      () => loadWorkerConfig({ PAYLOAD_ENCRYPTION_KEY: KEY, AZURE_KEY_VAULT_URL: 'http://vault' }),
      /AZURE_KEY_VAULT_URL: must be an https/,
    );
    assert.throws(
      () => loadWorkerConfig({ ...workerEnv, SENTINEL_ALLOWED_WORKSPACES: 'not-a-guid/rg/ws' }),
      /Invalid worker configuration:\n {2}SENTINEL_ALLOWED_WORKSPACES: "not-a-guid\/rg\/ws" its subscription id is not a GUID/,
    );
  });

  it('accepts BenignPositive with its own reason', () => {
    const config = loadGatewayConfig({ ...gatewayEnv, CLOSE_CLASSIFICATION: 'BenignPositive' });
    assert.equal(config.policy.closeClassificationReason, 'SuspiciousButExpected');
  });

  it('parses durations', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('1500'), 1500);
  });
});

describe('ids', () => {
  const workspace = { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'RG', workspaceName: 'SOC-WS' };
  it('derives one readable workflow id per workspace and incident', () => {
    const id = verificationWorkflowId(workspace, 'ABC-1');
    assert.match(id, /^idv-soc-ws-[0-9a-f]{8}-abc-1$/);
    assert.equal(id, verificationWorkflowId({ ...workspace, resourceGroup: 'rg' }, 'abc-1'));
    assert.notEqual(id, verificationWorkflowId({ ...workspace, subscriptionId: '99999999-2222-3333-4444-555555555555' }, 'abc-1'));
  });
  it('makes stable GUID-shaped comment ids', () => {
    const id = deterministicGuid('wf', 'requested');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id, deterministicGuid('wf', 'requested'));
    assert.notEqual(id, deterministicGuid('wf', 'decision'));
  });
});

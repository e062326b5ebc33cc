import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../../src/config/config';
import { WebhookTokenStore } from '../../src/gateway/webhook-oauth';

const gatewayEnv = {
  PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
  SENTINEL_RESOURCE_GROUP: 'soc-rg',
  SENTINEL_WORKSPACE_NAME: 'soc-ws',
  GATEWAY_API_KEYS: 'sentinel-playbook=0123456789abcdef01234567',
  INCODE_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef',
};
const CLIENT = { INCODE_WEBHOOK_CLIENT_ID: 'incode-webhooks', INCODE_WEBHOOK_CLIENT_SECRET: 'client-secret-0123456789abcdef' };

describe('INCODE_WEBHOOK_AUTH configuration', () => {
  it('defaults to the shared-secret header', () => {
    const { webhook } = loadGatewayConfig(gatewayEnv);
    assert.equal(webhook.auth, 'shared-secret');
    assert.equal(webhook.secret, gatewayEnv.INCODE_WEBHOOK_SECRET);
    assert.equal(webhook.oauth2, undefined);
  });

  it('oauth2 needs the client id and secret, not the shared secret; the token TTL defaults to 10 minutes', () => {
    const { INCODE_WEBHOOK_SECRET: _secret, ...withoutSecret } = gatewayEnv;
    const { webhook } = loadGatewayConfig({ ...withoutSecret, INCODE_WEBHOOK_AUTH: 'oauth2', ...CLIENT });
    assert.equal(webhook.auth, 'oauth2');
    assert.equal(webhook.secret, undefined);
    assert.deepEqual(webhook.oauth2, { clientId: 'incode-webhooks', clientSecret: CLIENT.INCODE_WEBHOOK_CLIENT_SECRET, tokenTtlMs: 600_000 });
    assert.throws(() => loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'oauth2' }), /INCODE_WEBHOOK_CLIENT_ID: is required[\s\S]*INCODE_WEBHOOK_CLIENT_SECRET: is required/);
    assert.throws(() => loadGatewayConfig({ ...withoutSecret, INCODE_WEBHOOK_AUTH: 'both', ...CLIENT }), /INCODE_WEBHOOK_SECRET: is required with INCODE_WEBHOOK_AUTH=both/);
    assert.throws(() => loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'oauth2', ...CLIENT, INCODE_WEBHOOK_CLIENT_SECRET: 'short' }), /INCODE_WEBHOOK_CLIENT_SECRET: must be at least 24/);
    assert.throws(() => loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'hmac' }), /INCODE_WEBHOOK_AUTH/);
    assert.equal(loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'both', ...CLIENT, INCODE_WEBHOOK_TOKEN_TTL: '90s' }).webhook.oauth2?.tokenTtlMs, 90_000);
  });
});

describe('SENTINEL_ALLOWED_WORKSPACES', () => {
  const other = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/customer-b-rg/law-customer-b';

  it('serves the default workspace first, then the listed ones (duplicates dropped)', () => {
    assert.deepEqual(loadGatewayConfig(gatewayEnv).allowedWorkspaces, [
      { subscriptionId: gatewayEnv.SENTINEL_SUBSCRIPTION_ID, resourceGroup: 'soc-rg', workspaceName: 'soc-ws' },
    ]);
    const config = loadGatewayConfig({ ...gatewayEnv, SENTINEL_ALLOWED_WORKSPACES: `${other}, ${other.toUpperCase()},11111111-2222-3333-4444-555555555555/soc-rg/soc-ws` });
    assert.deepEqual(config.allowedWorkspaces, [
      { subscriptionId: gatewayEnv.SENTINEL_SUBSCRIPTION_ID, resourceGroup: 'soc-rg', workspaceName: 'soc-ws' },
      { subscriptionId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', resourceGroup: 'customer-b-rg', workspaceName: 'law-customer-b' },
    ]);
  });

  it('names every malformed entry', () => {
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, SENTINEL_ALLOWED_WORKSPACES: 'customer-b-rg/law-b,not-a-guid/rg/law-b,aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/rg/x y' }),
      (error: Error) => {
        assert.match(error.message, /"customer-b-rg\/law-b" is not subscriptionId\/resourceGroup\/workspaceName/);
        assert.match(error.message, /"not-a-guid\/rg\/law-b" its subscription id is not a GUID/);
        assert.match(error.message, /workspace name is not valid/);
        return true;
      },
    );
  });
});

describe('WebhookTokenStore', () => {
  it('issues random tokens that expire and keeps at most maxTokens', () => {
    let now = 1_000_000;
    const store = new WebhookTokenStore(60_000, 3, () => now);
    const first = store.issue();
    assert.equal(first.expiresInSeconds, 60);
    assert.ok(Buffer.from(first.token, 'base64url').length >= 32);
    assert.ok(store.isValid(first.token));
    assert.ok(!store.isValid(`${first.token}x`));
    const more = [store.issue(), store.issue(), store.issue()];
    assert.equal(store.size, 3);
    assert.ok(!store.isValid(first.token), 'the oldest token was dropped');
    assert.ok(more.every((issued) => store.isValid(issued.token)));
    now += 60_000;
    assert.ok(!store.isValid(more[2].token), 'expired');
    store.issue();
    assert.equal(store.size, 1, 'expired tokens are pruned when a new one is issued');
  });
});

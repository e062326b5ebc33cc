import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../../src/config/gateway';
import { WebhookTokens } from '../../src/gateway/webhook-oauth';

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
    assert.deepEqual(webhook.oauth2, {
      clientId: 'incode-webhooks',
      clientSecret: CLIENT.INCODE_WEBHOOK_CLIENT_SECRET,
      tokenTtlMs: 600_000,
    });
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'oauth2' }),
      /INCODE_WEBHOOK_CLIENT_ID: is required[\s\S]*INCODE_WEBHOOK_CLIENT_SECRET: is required/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...withoutSecret, INCODE_WEBHOOK_AUTH: 'both', ...CLIENT }),
      /INCODE_WEBHOOK_SECRET: is required with INCODE_WEBHOOK_AUTH=both/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'oauth2', ...CLIENT, INCODE_WEBHOOK_CLIENT_SECRET: 'short' }),
      /INCODE_WEBHOOK_CLIENT_SECRET: must be at least 24/,
    );
    assert.throws(() => loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'hmac' }), /INCODE_WEBHOOK_AUTH/);
    assert.equal(
      loadGatewayConfig({ ...gatewayEnv, INCODE_WEBHOOK_AUTH: 'both', ...CLIENT, INCODE_WEBHOOK_TOKEN_TTL: '90s' }).webhook.oauth2
        ?.tokenTtlMs,
      90_000,
    );
  });
});

describe('SENTINEL_ALLOWED_WORKSPACES', () => {
  const other = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/customer-b-rg/law-customer-b';

  it('serves the default workspace first, then the listed ones (duplicates dropped)', () => {
    assert.deepEqual(loadGatewayConfig(gatewayEnv).allowedWorkspaces, [
      { subscriptionId: gatewayEnv.SENTINEL_SUBSCRIPTION_ID, resourceGroup: 'soc-rg', workspaceName: 'soc-ws' },
    ]);
    const config = loadGatewayConfig({
      ...gatewayEnv,
      SENTINEL_ALLOWED_WORKSPACES: `${other}, ${other.toUpperCase()},11111111-2222-3333-4444-555555555555/soc-rg/soc-ws`,
    });
    assert.deepEqual(config.allowedWorkspaces, [
      { subscriptionId: gatewayEnv.SENTINEL_SUBSCRIPTION_ID, resourceGroup: 'soc-rg', workspaceName: 'soc-ws' },
      { subscriptionId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', resourceGroup: 'customer-b-rg', workspaceName: 'law-customer-b' },
    ]);
  });

  it('names every malformed entry', () => {
    assert.throws(
      () =>
        loadGatewayConfig({
          ...gatewayEnv,
          SENTINEL_ALLOWED_WORKSPACES: 'customer-b-rg/law-b,not-a-guid/rg/law-b,aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/rg/x y',
        }),
      (error: Error) => {
        assert.match(error.message, /"customer-b-rg\/law-b" is not subscriptionId\/resourceGroup\/workspaceName/);
        assert.match(error.message, /"not-a-guid\/rg\/law-b" its subscription id is not a GUID/);
        assert.match(error.message, /workspace name is not valid/);
        return true;
      },
    );
  });
});

describe('WebhookTokens', () => {
  const secret = 'client-secret-0123456789abcdef0123';
  it('issues signed tokens that any replica with the same client verifies until they expire', async () => {
    let now = 1_700_000_000_000;
    const replicaA = new WebhookTokens('incode', secret, 60_000, () => now);
    const replicaB = new WebhookTokens('incode', secret, 60_000, () => now);
    const first = await replicaA.issue();
    assert.equal(first.expiresInSeconds, 60);
    assert.equal(first.token.split('.').length, 3, 'a JWT');
    assert.ok(await replicaA.isValid(first.token));
    assert.ok(await replicaB.isValid(first.token), 'another replica accepts it');
    const second = await replicaA.issue();
    assert.notEqual(second.token, first.token, 'each token has its own id');
    now += 60_000;
    assert.ok(!(await replicaB.isValid(first.token)), 'expired');
  });

  it('refuses tokens of another key or client, tampered ones and unsigned ones', async () => {
    const tokens = new WebhookTokens('incode', secret, 60_000);
    const { token } = await tokens.issue();
    assert.ok(!(await new WebhookTokens('incode', `${secret}-rotated`, 60_000).isValid(token)), 'a rotated client secret');
    assert.ok(!(await new WebhookTokens('someone-else', secret, 60_000).isValid(token)), 'another client');
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, exp: Number(claims.exp) + 3600 })).toString('base64url');
    assert.ok(!(await tokens.isValid(`${header}.${forged}.${signature}`)), 'a changed claim');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    assert.ok(!(await tokens.isValid(`${none}.${payload}.`)), 'alg none');
    assert.ok(!(await tokens.isValid('not-a-token')));
    assert.ok(!(await tokens.isValid(secret)), 'the client secret itself');
  });
});

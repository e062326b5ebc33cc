import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadWorkerConfig } from '../../src/config/worker';
import { ConfigError } from '../../src/config/parse';

const WORKSPACE = '3f0b6c2a-7d4e-4a1b-9c8d-5e6f7a8b9c0d';
const workerEnv = {
  PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.net',
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
};
const load = (env: Record<string, string>) => loadWorkerConfig({ ...workerEnv, ...env }).tiSync;

function rejects(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(
    () => load(env),
    (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
  );
}

describe('TI_SYNC_* configuration', () => {
  it('is off without TI_SYNC_FEEDS', () => {
    assert.equal(load({}), undefined);
    assert.equal(load({ TI_SYNC_WORKSPACE_ID: WORKSPACE }), undefined);
  });

  it('one sync per feed, with the documented defaults', () => {
    const config = load({ TI_SYNC_FEEDS: 'baseVISION-SOC-TI-Feed, Other Feed', TI_SYNC_WORKSPACE_ID: WORKSPACE })!;
    assert.equal(config.syncs.length, 2);
    const [sync] = config.syncs;
    assert.equal(sync.feedName, 'baseVISION-SOC-TI-Feed');
    assert.match(sync.syncId, /^basevision-soc-ti-feed-[0-9a-f]{8}$/);
    assert.equal(sync.application, `itdr-verify/${sync.syncId}`);
    assert.deepEqual(sync.actions, { IpAddress: 'Audit', DomainName: 'Audit', Url: 'Audit', FileSha256: 'Audit' });
    assert.equal(sync.minConfidence, 100);
    assert.equal(sync.tenantCap, 15_000);
    assert.equal(config.intervalMs, 30 * 60_000);
    assert.equal(config.logAnalyticsEndpoint, 'https://api.loganalytics.io');
    assert.equal(config.defenderEndpoint, 'https://api.securitycenter.microsoft.com');
    assert.equal(config.defenderAudience, 'https://api.securitycenter.microsoft.com');
    assert.notEqual(config.syncs[1].syncId, sync.syncId);
  });

  it('actions per type: BlockAndRemediate for files only, with an error naming the setting', () => {
    const config = load({
      TI_SYNC_FEEDS: 'f',
      TI_SYNC_WORKSPACE_ID: WORKSPACE,
      TI_SYNC_ACTION: 'Block',
      TI_SYNC_ACTION_FILE_SHA256: 'BlockAndRemediate',
      TI_SYNC_ACTION_URL: 'Warn',
    })!;
    assert.deepEqual(config.syncs[0].actions, { IpAddress: 'Block', DomainName: 'Block', Url: 'Warn', FileSha256: 'BlockAndRemediate' });
    rejects(
      { TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_ACTION: 'BlockAndRemediate' },
      /TI_SYNC_ACTION: BlockAndRemediate is not an action Defender allows for IpAddress.*TI_SYNC_ACTION_FILE_SHA256=BlockAndRemediate/,
    );
    rejects(
      { TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_ACTION_DOMAIN_NAME: 'BlockAndRemediate' },
      /TI_SYNC_ACTION_DOMAIN_NAME: BlockAndRemediate is not an action Defender allows for DomainName/,
    );
    rejects({ TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_ACTION: 'Quarantine' }, /TI_SYNC_ACTION: /);
  });

  it('names each missing or bad setting', () => {
    rejects({ TI_SYNC_FEEDS: 'f' }, /TI_SYNC_WORKSPACE_ID: is required when TI_SYNC_FEEDS is set/);
    rejects({ TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: 'law-sentinel' }, /TI_SYNC_WORKSPACE_ID: must be the Log Analytics workspace id/);
    rejects({ TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_CONFIDENCE: '101' }, /TI_SYNC_CONFIDENCE/);
    rejects(
      { TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_TENANT_CAP: '20000' },
      /TI_SYNC_TENANT_CAP: must be at most 15000/,
    );
    rejects({ TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_INTERVAL: '10s' }, /TI_SYNC_INTERVAL: must be at least 1m/);
  });

  it("national clouds: their own endpoints; another cloud's host is refused; loopback is the simulator", () => {
    const gov = load({
      AZURE_CLOUD: 'usgovernment',
      AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.usgovcloudapi.net',
      TI_SYNC_FEEDS: 'f',
      TI_SYNC_WORKSPACE_ID: WORKSPACE,
    })!;
    assert.equal(gov.logAnalyticsEndpoint, 'https://api.loganalytics.us');
    assert.equal(gov.defenderEndpoint, 'https://api-gov.securitycenter.microsoft.us');
    assert.equal(gov.defenderAudience, 'https://api-gov.securitycenter.microsoft.us');
    const eu = load({
      TI_SYNC_FEEDS: 'f',
      TI_SYNC_WORKSPACE_ID: WORKSPACE,
      TI_SYNC_DEFENDER_ENDPOINT: 'https://eu.api.security.microsoft.com',
    })!;
    assert.equal(eu.defenderAudience, 'https://api.securitycenter.microsoft.com');
    rejects(
      { TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_LOG_ANALYTICS_ENDPOINT: 'https://api.loganalytics.us' },
      /TI_SYNC_LOG_ANALYTICS_ENDPOINT: .* not the public cloud's/,
    );
    rejects(
      { TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE, TI_SYNC_DEFENDER_ENDPOINT: 'https://defender.example.com' },
      /TI_SYNC_DEFENDER_ENDPOINT: .* not a Defender for Endpoint API host/,
    );
    rejects(
      { AZURE_CLOUD: 'china', AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.cn', TI_SYNC_FEEDS: 'f', TI_SYNC_WORKSPACE_ID: WORKSPACE },
      /not offered in the china cloud/,
    );
    const local = load({
      TI_SYNC_FEEDS: 'f',
      TI_SYNC_WORKSPACE_ID: WORKSPACE,
      TI_SYNC_DEFENDER_ENDPOINT: 'https://127.0.0.1:9999',
      TI_SYNC_LOG_ANALYTICS_ENDPOINT: 'https://127.0.0.1:9998',
    })!;
    assert.deepEqual(
      [local.defenderEndpoint, local.defenderAudience, local.logAnalyticsEndpoint],
      ['https://127.0.0.1:9999', 'https://127.0.0.1:9999', 'https://127.0.0.1:9998'],
    );
  });
});

import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  AzureAuthorityHosts,
  AzureCliCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { createAzureCredential, describeAzureCredential } from '../../src/clients/azure-credential';
import { AZURE_CLOUDS, checkKeyVaultUrl, isLoopbackHost, SecretValue } from '../../src/config/azure-cloud';
import { loadGatewayConfig } from '../../src/config/gateway';
import { loadWorkerConfig } from '../../src/config/worker';
import type { AzureConfig } from '../../src/config/azure';
import { ConfigError } from '../../src/config/parse';
import { generateAppCertificate, generateFederatedToken } from '../../tools/simulator/entra-store';

const KEY = Buffer.alloc(32, 7).toString('base64');
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = 'b3e1c2d4-5f60-4a7b-8c9d-0e1f2a3b4c5d';
const SECRET = 'Sup3r~Secr3t.value-that-must-never-leak';
const PASSWORD = 'correct horse battery staple';

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
  AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.net/',
  SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
};

const azure = (env: Record<string, string>): AzureConfig => loadWorkerConfig({ ...workerEnv, ...env }).azure;

/** Asserts a ConfigError whose message matches every pattern and contains none of `never`. */
function configError(action: () => unknown, patterns: RegExp[], never: string[] = [SECRET, PASSWORD]): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    for (const secret of never) assert.ok(!error.message.includes(secret), 'the message must not contain a secret');
    return true;
  });
}

describe('Azure clouds', () => {
  it('has the documented authority host, ARM endpoint and Key Vault suffix per cloud', () => {
    assert.deepEqual(AZURE_CLOUDS, {
      public: {
        name: 'public',
        authorityHost: 'https://login.microsoftonline.com',
        armEndpoint: 'https://management.azure.com',
        keyVaultSuffix: 'vault.azure.net',
      },
      usgovernment: {
        name: 'usgovernment',
        authorityHost: 'https://login.microsoftonline.us',
        armEndpoint: 'https://management.usgovcloudapi.net',
        keyVaultSuffix: 'vault.usgovcloudapi.net',
      },
      china: {
        name: 'china',
        authorityHost: 'https://login.chinacloudapi.cn',
        armEndpoint: 'https://management.chinacloudapi.cn',
        keyVaultSuffix: 'vault.azure.cn',
      },
    });
    // The same authority hosts as the SDK's own constants.
    assert.equal(AZURE_CLOUDS.public.authorityHost, AzureAuthorityHosts.AzurePublicCloud);
    assert.equal(AZURE_CLOUDS.usgovernment.authorityHost, AzureAuthorityHosts.AzureGovernment);
    assert.equal(AZURE_CLOUDS.china.authorityHost, AzureAuthorityHosts.AzureChina);
  });

  it('keeps the old defaults: public cloud, managed identity, AZURE_CLIENT_ID as a user-assigned identity', () => {
    const config = loadGatewayConfig(gatewayEnv).azure;
    assert.equal(config.cloud.name, 'public');
    assert.equal(config.armEndpoint, 'https://management.azure.com');
    assert.equal(config.authorityHost, 'https://login.microsoftonline.com');
    assert.equal(config.disableInstanceDiscovery, false);
    assert.deepEqual(config.auth, { mode: 'managed-identity', clientId: undefined });
    assert.equal(config.managedIdentityClientId, undefined);
    assert.equal(config.sentinelApiVersion, '2024-09-01');

    const userAssigned = loadGatewayConfig({ ...gatewayEnv, AZURE_CLIENT_ID: CLIENT, ARM_ENDPOINT: 'https://management.azure.com/' }).azure;
    assert.equal(userAssigned.managedIdentityClientId, CLIENT);
    assert.deepEqual(userAssigned.auth, { mode: 'managed-identity', clientId: CLIENT });
    assert.equal(userAssigned.armEndpoint, 'https://management.azure.com');
  });

  it('sets all three values from AZURE_CLOUD (az cloud names accepted)', () => {
    for (const [value, name] of [
      ['usgovernment', 'usgovernment'],
      ['AzureUSGovernment', 'usgovernment'],
      ['china', 'china'],
      ['AzureChinaCloud', 'china'],
      ['PUBLIC', 'public'],
    ] as const) {
      const config = loadGatewayConfig({ ...gatewayEnv, AZURE_CLOUD: value }).azure;
      assert.equal(config.cloud.name, name, value);
      assert.equal(config.armEndpoint, AZURE_CLOUDS[name].armEndpoint);
      assert.equal(config.authorityHost, AZURE_CLOUDS[name].authorityHost);
      assert.equal(config.cloud.keyVaultSuffix, AZURE_CLOUDS[name].keyVaultSuffix);
      assert.equal(config.disableInstanceDiscovery, false);
    }
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, AZURE_CLOUD: 'germany' }),
      [/AZURE_CLOUD: must be one of public, usgovernment, china, custom/],
    );
  });

  it('accepts an explicit ARM_ENDPOINT that agrees with the cloud, and says what to change when it does not', () => {
    assert.equal(
      loadGatewayConfig({ ...gatewayEnv, AZURE_CLOUD: 'usgovernment', ARM_ENDPOINT: 'https://MANAGEMENT.usgovcloudapi.net/' }).azure
        .armEndpoint,
      'https://MANAGEMENT.usgovcloudapi.net',
    );
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, AZURE_CLOUD: 'usgovernment', ARM_ENDPOINT: 'https://management.azure.com' }),
      [
        /ARM_ENDPOINT: https:\/\/management\.azure\.com is not the usgovernment cloud's \(https:\/\/management\.usgovcloudapi\.net\)/,
        /belongs to the public cloud: set AZURE_CLOUD=public, or remove ARM_ENDPOINT/,
      ],
    );
    // The old way to reach a national cloud (ARM_ENDPOINT alone) now needs AZURE_CLOUD as well.
    configError(() => loadGatewayConfig({ ...gatewayEnv, ARM_ENDPOINT: 'https://management.chinacloudapi.cn' }), [/set AZURE_CLOUD=china/]);
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, ARM_ENDPOINT: 'https://arm.contoso.example' }),
      [
        /ARM_ENDPOINT: .*Remove ARM_ENDPOINT \(AZURE_CLOUD=public sets it\), or set AZURE_CLOUD=custom with AZURE_AUTHORITY_HOST, ARM_ENDPOINT and AZURE_KEY_VAULT_SUFFIX/,
      ],
    );
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, AZURE_CLOUD: 'china', AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' }),
      [/AZURE_AUTHORITY_HOST: .*belongs to the usgovernment cloud/],
    );
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, AZURE_KEY_VAULT_SUFFIX: 'vault.azure.cn' }),
      [/AZURE_KEY_VAULT_SUFFIX: is vault\.azure\.net in the public cloud/],
    );
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, ARM_ENDPOINT: 'http://management.azure.com' }),
      [/ARM_ENDPOINT: must be an https:\/\/ URL/],
    );
    // The AKS workload identity webhook injects AZURE_AUTHORITY_HOST with a trailing slash.
    const aks = loadGatewayConfig({ ...gatewayEnv, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/' }).azure;
    assert.equal(aks.authorityHost, 'https://login.microsoftonline.com');
    assert.equal(aks.disableInstanceDiscovery, false);
  });

  it('lets loopback endpoints (the local simulator) override any cloud', () => {
    const config = loadGatewayConfig({
      ...gatewayEnv,
      AZURE_CLOUD: 'usgovernment',
      ARM_ENDPOINT: 'https://127.0.0.1:8443/',
      AZURE_AUTHORITY_HOST: 'https://localhost:9443',
    }).azure;
    assert.equal(config.armEndpoint, 'https://127.0.0.1:8443');
    assert.equal(config.authorityHost, 'https://localhost:9443');
    assert.equal(config.cloud.armEndpoint, 'https://management.usgovcloudapi.net');
    // MSAL cannot discover a non-Microsoft authority: off unless set explicitly.
    assert.equal(config.disableInstanceDiscovery, true);
    assert.equal(
      loadGatewayConfig({ ...gatewayEnv, AZURE_AUTHORITY_HOST: 'https://localhost:9443', AZURE_DISABLE_INSTANCE_DISCOVERY: 'false' }).azure
        .disableInstanceDiscovery,
      false,
    );
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'kv.vault.localhost', '[::1]']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['127.0.0.1.example.com', 'localhost.example.com', 'vault.azure.net', '10.0.0.1'])
      assert.ok(!isLoopbackHost(host), host);
  });

  it('needs the authority host, ARM endpoint and vault suffix for a custom cloud', () => {
    configError(
      () => loadGatewayConfig({ ...gatewayEnv, AZURE_CLOUD: 'custom' }),
      [
        /AZURE_AUTHORITY_HOST: is required when AZURE_CLOUD=custom/,
        /ARM_ENDPOINT: is required when AZURE_CLOUD=custom/,
        /AZURE_KEY_VAULT_SUFFIX: is required when AZURE_CLOUD=custom/,
      ],
    );
    const config = azure({
      AZURE_CLOUD: 'custom',
      AZURE_AUTHORITY_HOST: 'https://login.stack.contoso.example/',
      ARM_ENDPOINT: 'https://management.stack.contoso.example',
      AZURE_KEY_VAULT_SUFFIX: '.Vault.Stack.Contoso.Example',
      AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.stack.contoso.example',
    });
    assert.deepEqual(config.cloud, {
      name: 'custom',
      authorityHost: 'https://login.stack.contoso.example',
      armEndpoint: 'https://management.stack.contoso.example',
      keyVaultSuffix: 'vault.stack.contoso.example',
    });
    assert.equal(config.disableInstanceDiscovery, true);
  });
});

describe('checkKeyVaultUrl', () => {
  const cloud = (name: keyof typeof AZURE_CLOUDS) => ({ cloud: AZURE_CLOUDS[name] });

  it('accepts a vault of the configured cloud, and loopback hosts (the simulator)', () => {
    assert.equal(checkKeyVaultUrl('https://soc-kv.vault.azure.net/', cloud('public')), 'https://soc-kv.vault.azure.net/');
    checkKeyVaultUrl('https://SOC-KV.VAULT.USGOVCLOUDAPI.NET', cloud('usgovernment'));
    checkKeyVaultUrl('https://soc-kv.vault.azure.cn', cloud('china'));
    checkKeyVaultUrl('https://127.0.0.1:8443', cloud('china'));
    checkKeyVaultUrl('https://itdr.vault.localhost:8443', cloud('public'));
  });

  it('fails with what to change when the vault is in another cloud or not a vault host', () => {
    configError(
      () => checkKeyVaultUrl('https://soc-kv.vault.azure.net', cloud('usgovernment')),
      [
        /AZURE_KEY_VAULT_URL: soc-kv\.vault\.azure\.net is not a Key Vault of the usgovernment cloud \(vault hosts end with \.vault\.usgovcloudapi\.net\)/,
        /It is a vault of the public cloud: set AZURE_CLOUD=public/,
      ],
    );
    configError(() => checkKeyVaultUrl('https://vault.azure.net', cloud('public')), [/not a Key Vault of the public cloud/]);
    configError(
      () => checkKeyVaultUrl('https://soc-kv.example.com', cloud('public')),
      [/Use the vault's URL as the portal shows it \(https:\/\/<name>\.vault\.azure\.net\)/],
    );
  });

  it('runs when the worker configuration is loaded', () => {
    configError(
      () => loadWorkerConfig({ ...workerEnv, AZURE_CLOUD: 'china' }),
      [/AZURE_KEY_VAULT_URL: soc-kv\.vault\.azure\.net is not a Key Vault of the china cloud/],
    );
    assert.equal(
      loadWorkerConfig({ ...workerEnv, AZURE_CLOUD: 'china', AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.cn' }).keyVault.vaultUrl,
      'https://soc-kv.vault.azure.cn',
    );
    // The simulator (an IP address, challenge verification off) keeps working in the default cloud.
    assert.equal(
      loadWorkerConfig({ ...workerEnv, AZURE_KEY_VAULT_URL: 'https://127.0.0.1:8443', KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'false' })
        .keyVault.vaultUrl,
      'https://127.0.0.1:8443',
    );
  });
});

describe('Azure auth modes', () => {
  let dir: string;
  let plainPem: string;
  let encryptedPem: string;
  let mismatchedPem: string;
  let tokenFile: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'azure-cloud-test-'));
    const certificate = generateAppCertificate('unit test app');
    const other = generateAppCertificate('another app');
    const encryptedKey = createPrivateKey(certificate.privateKeyPem).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: PASSWORD,
    });
    plainPem = path.join(dir, 'plain.pem');
    encryptedPem = path.join(dir, 'encrypted.pem');
    mismatchedPem = path.join(dir, 'mismatched.pem');
    tokenFile = path.join(dir, 'azure-identity-token');
    fs.writeFileSync(plainPem, certificate.certificatePem + certificate.privateKeyPem);
    fs.writeFileSync(encryptedPem, certificate.certificatePem + String(encryptedKey));
    fs.writeFileSync(mismatchedPem, certificate.certificatePem + other.privateKeyPem);
    fs.writeFileSync(tokenFile, generateFederatedToken());
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names every variable a mode is missing', () => {
    configError(
      () => azure({ AZURE_AUTH_MODE: 'client-secret' }),
      [
        /Invalid Azure configuration/,
        /AZURE_TENANT_ID: is required when AZURE_AUTH_MODE=client-secret/,
        /AZURE_CLIENT_ID: is required when AZURE_AUTH_MODE=client-secret/,
        /AZURE_CLIENT_SECRET: is required when AZURE_AUTH_MODE=client-secret/,
      ],
    );
    configError(
      () => azure({ AZURE_AUTH_MODE: 'client-certificate', AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT }),
      [/AZURE_CLIENT_CERTIFICATE_PATH: is required when AZURE_AUTH_MODE=client-certificate/],
    );
    configError(
      () => azure({ AZURE_AUTH_MODE: 'workload-identity', AZURE_CLIENT_ID: CLIENT }),
      [
        /AZURE_TENANT_ID: is required when AZURE_AUTH_MODE=workload-identity/,
        /AZURE_FEDERATED_TOKEN_FILE: is required when AZURE_AUTH_MODE=workload-identity/,
      ],
    );
    configError(() => azure({ AZURE_AUTH_MODE: 'password' }), [/AZURE_AUTH_MODE: Invalid option/]);
    configError(
      () =>
        azure({ AZURE_AUTH_MODE: 'client-secret', AZURE_TENANT_ID: 'contoso/evil', AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: SECRET }),
      [/AZURE_TENANT_ID: must be the directory \(tenant\) id/],
    );
  });

  it('checks the files of the certificate and workload identity modes at start-up', () => {
    const certificate = { AZURE_AUTH_MODE: 'client-certificate', AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT };
    configError(
      () => azure({ ...certificate, AZURE_CLIENT_CERTIFICATE_PATH: path.join(dir, 'missing.pem') }),
      [/AZURE_CLIENT_CERTIFICATE_PATH: cannot read .*missing\.pem \(ENOENT\)/],
    );
    configError(
      () => azure({ ...certificate, AZURE_CLIENT_CERTIFICATE_PATH: tokenFile }),
      [/AZURE_CLIENT_CERTIFICATE_PATH: .* must be a PEM file holding the certificate and its private key/],
    );
    configError(
      () => azure({ ...certificate, AZURE_CLIENT_CERTIFICATE_PATH: encryptedPem }),
      [/AZURE_CLIENT_CERTIFICATE_PASSWORD: is required: the private key .* is encrypted/],
    );
    configError(
      () =>
        azure({ ...certificate, AZURE_CLIENT_CERTIFICATE_PATH: encryptedPem, AZURE_CLIENT_CERTIFICATE_PASSWORD: 'wrong-password-1234' }),
      [/AZURE_CLIENT_CERTIFICATE_PASSWORD: does not decrypt the private key/],
      ['wrong-password-1234'],
    );
    configError(
      () => azure({ ...certificate, AZURE_CLIENT_CERTIFICATE_PATH: mismatchedPem }),
      [/does not belong to its \(first\) certificate/],
    );
    configError(
      () =>
        azure({
          AZURE_AUTH_MODE: 'workload-identity',
          AZURE_TENANT_ID: TENANT,
          AZURE_CLIENT_ID: CLIENT,
          AZURE_FEDERATED_TOKEN_FILE: path.join(dir, 'nope'),
        }),
      [/AZURE_FEDERATED_TOKEN_FILE: cannot read .*nope \(ENOENT\)/],
    );
  });

  it('keeps secrets out of errors, logs and JSON', () => {
    configError(
      () => azure({ AZURE_AUTH_MODE: 'client-secret', AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: SECRET }),
      [/AZURE_TENANT_ID: is required/],
    );
    const config = azure({
      AZURE_AUTH_MODE: 'client-secret',
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: SECRET,
    });
    assert.equal(config.auth.mode === 'client-secret' && config.auth.clientSecret.reveal(), SECRET);
    for (const text of [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      String(config.auth.mode === 'client-secret' && config.auth.clientSecret),
    ]) {
      assert.ok(!text.includes(SECRET), text);
    }
    assert.match(JSON.stringify(config), /"clientSecret":"\[redacted\]"/);
    const withPassword = azure({
      AZURE_AUTH_MODE: 'client-certificate',
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_CERTIFICATE_PATH: encryptedPem,
      AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD,
    });
    assert.ok(!JSON.stringify(withPassword).includes(PASSWORD));
    assert.ok(!inspect(withPassword, { depth: 10 }).includes(PASSWORD));
    assert.deepEqual(describeAzureCredential(withPassword), {
      mode: 'client-certificate',
      cloud: 'public',
      authorityHost: 'https://login.microsoftonline.com',
      tenantId: TENANT,
      clientId: CLIENT,
    });
    assert.equal(new SecretValue('x').toJSON(), '[redacted]');
  });

  it('makes the credential of each mode', () => {
    const app = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT };
    assert.ok(createAzureCredential(azure({})) instanceof ManagedIdentityCredential);
    assert.ok(createAzureCredential(azure({ AZURE_CLIENT_ID: CLIENT })) instanceof ManagedIdentityCredential);
    assert.ok(
      createAzureCredential(azure({ ...app, AZURE_AUTH_MODE: 'client-secret', AZURE_CLIENT_SECRET: SECRET })) instanceof
        ClientSecretCredential,
    );
    assert.ok(
      createAzureCredential(azure({ ...app, AZURE_AUTH_MODE: 'client-certificate', AZURE_CLIENT_CERTIFICATE_PATH: plainPem })) instanceof
        ClientCertificateCredential,
    );
    assert.ok(
      createAzureCredential(
        azure({
          ...app,
          AZURE_AUTH_MODE: 'client-certificate',
          AZURE_CLIENT_CERTIFICATE_PATH: encryptedPem,
          AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD,
        }),
      ) instanceof ClientCertificateCredential,
    );
    assert.ok(
      createAzureCredential(azure({ ...app, AZURE_AUTH_MODE: 'workload-identity', AZURE_FEDERATED_TOKEN_FILE: tokenFile })) instanceof
        WorkloadIdentityCredential,
    );
    // No `az` here: the CLI mode is only checked to build the SDK's AzureCliCredential (tenant optional).
    const cli = azure({ AZURE_AUTH_MODE: 'azure-cli' });
    assert.deepEqual(cli.auth, { mode: 'azure-cli', tenantId: undefined });
    assert.ok(createAzureCredential(cli) instanceof AzureCliCredential);
    assert.ok(createAzureCredential(azure({ AZURE_AUTH_MODE: 'azure-cli', AZURE_TENANT_ID: TENANT })) instanceof AzureCliCredential);
  });
});

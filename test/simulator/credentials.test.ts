import assert from 'node:assert/strict';
import { createPrivateKey, createSign, createHash, X509Certificate, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecurityInsights } from '@azure/arm-securityinsight';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { createAzureCredential } from '../../src/clients/azure-credential';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker';
import { ConfigError } from '../../src/config/parse';
import {
  generateAppCertificate,
  generateFederatedToken,
  INCODE_SECRET_NAMES,
  localhostSubdomainAgent,
  vaultLocalhostUrl,
  type AppCertificate,
  type IncidentResource,
  type RunningSimulator,
  type TokenAuthMethod,
} from '../../tools/simulator';
import { startTestSimulator } from './helpers';

/**
 * Every AZURE_AUTH_MODE that can run here, end to end: configuration from an env object, the credential from
 * the factory, then the real SecretClient and SecurityInsights clients against the simulated Key Vault and ARM,
 * with tokens from the simulated Entra ID (or managed identity endpoint). Each test registers its own app: the
 * SDK caches tokens per credential, and a distinct client id keeps each test's tokens apart in `issued()`.
 */
describe('Azure credentials of every auth mode, through the real SDK clients', () => {
  let sim: RunningSimulator;
  let dir: string;
  let incident: IncidentResource;
  const agents: https.Agent[] = [];

  before(async () => {
    sim = await startTestSimulator();
    // Managed identity finds its endpoint in the environment (read once per process, before any credential).
    Object.assign(process.env, sim.identityEnv);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-credentials-'));
    incident = sim.sentinel.seedIncident({ title: 'Impossible travel', severity: 'Medium' });
  });

  after(async () => {
    for (const agent of agents) agent.destroy();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Worker configuration pointed at the simulator (an IP address: challenge-resource verification off). */
  const configFor = (env: Record<string, string>): WorkerConfig =>
    loadWorkerConfig({
      PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      AZURE_KEY_VAULT_URL: sim.urls.keyVault,
      KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'false',
      ARM_ENDPOINT: sim.urls.arm,
      SENTINEL_SUBSCRIPTION_ID: sim.sentinel.defaultWorkspace.subscriptionId,
      ...sim.entraEnv,
      ...env,
    });

  const writeFile = (name: string, content: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
  };

  /** Reads an Incode secret from Key Vault and the seeded incident from Sentinel, as the worker does. */
  async function useAzure(config: WorkerConfig, credential: TokenCredential, agent?: https.Agent): Promise<void> {
    const secrets = new SecretClient(config.keyVault.vaultUrl, credential, {
      disableChallengeResourceVerification: !config.keyVault.verifyChallengeResource,
      ...(agent ? { agent } : {}),
    });
    assert.equal((await secrets.getSecret(INCODE_SECRET_NAMES.apiKey)).value, sim.incode.config.apiKey);
    const ws = sim.sentinel.defaultWorkspace;
    const sentinel = new SecurityInsights(credential, ws.subscriptionId, {
      endpoint: config.azure.armEndpoint,
      apiVersion: config.azure.sentinelApiVersion,
    });
    const read = await sentinel.incidents.get(ws.resourceGroup, ws.workspaceName, incident.name);
    assert.equal(read.title, 'Impossible travel');
  }

  /** The tokens the simulator issued to `clientId`: one for Key Vault and one for ARM, all by `method`. */
  function assertTokens(clientId: string, method: TokenAuthMethod, vaultResource = 'https://vault.azure.net'): void {
    const tokens = sim.identity.issued().filter((token) => token.clientId === clientId);
    assert.deepEqual(tokens.map((token) => token.resource).sort(), [sim.urls.arm, vaultResource].sort());
    for (const token of tokens) assert.equal(token.authMethod, method);
  }

  it('managed-identity (the default): the App Service identity endpoint', async () => {
    const config = configFor({});
    assert.equal(config.azure.auth.mode, 'managed-identity');
    const credential = createAzureCredential(config.azure);
    assert.ok(credential instanceof ManagedIdentityCredential);
    await useAzure(config, credential);
    assertTokens(sim.systemAssignedClientId, 'managedIdentity');
  });

  it('client-secret: an app registration with a secret', async () => {
    const app = sim.entra.registerApplication();
    assert.ok(app.clientSecret);
    const config = configFor({ AZURE_AUTH_MODE: 'client-secret', AZURE_CLIENT_ID: app.clientId, AZURE_CLIENT_SECRET: app.clientSecret });
    const credential = createAzureCredential(config.azure);
    assert.ok(credential instanceof ClientSecretCredential);
    const before = sim.entra.tokenRequestCount;
    await useAzure(config, credential);
    assertTokens(app.clientId, 'clientSecret');
    assert.equal(sim.entra.tokenRequestCount - before, 2, 'one token per resource, cached by the SDK');
  });

  it('client-certificate: a client assertion signed with the registered certificate (plain and encrypted key)', async () => {
    const certificate = generateAppCertificate('itdr-verify certificate test');
    const plain = sim.entra.registerApplication({ certificatePem: certificate.certificatePem });
    const file = writeFile('app.pem', certificate.certificatePem + certificate.privateKeyPem);
    const config = configFor({
      AZURE_AUTH_MODE: 'client-certificate',
      AZURE_CLIENT_ID: plain.clientId,
      AZURE_CLIENT_CERTIFICATE_PATH: file,
    });
    const credential = createAzureCredential(config.azure);
    assert.ok(credential instanceof ClientCertificateCredential);
    await useAzure(config, credential);
    assertTokens(plain.clientId, 'clientCertificate');

    const password = 'pfx-export-password';
    const encryptedKey = createPrivateKey(certificate.privateKeyPem).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: password,
    });
    const encrypted = sim.entra.registerApplication({ certificatePem: certificate.certificatePem });
    const encryptedFile = writeFile('app-encrypted.pem', certificate.certificatePem + String(encryptedKey));
    const encryptedConfig = configFor({
      AZURE_AUTH_MODE: 'client-certificate',
      AZURE_CLIENT_ID: encrypted.clientId,
      AZURE_CLIENT_CERTIFICATE_PATH: encryptedFile,
      AZURE_CLIENT_CERTIFICATE_PASSWORD: password,
    });
    await useAzure(encryptedConfig, createAzureCredential(encryptedConfig.azure));
    assertTokens(encrypted.clientId, 'clientCertificate');
  });

  it('workload-identity: the federated token file, as AKS projects it', async () => {
    const token = generateFederatedToken('system:serviceaccount:soc:itdr-verify-worker');
    const app = sim.entra.registerApplication({ federatedToken: token });
    const file = writeFile('azure-identity-token', `${token}\n`);
    const config = configFor({ AZURE_AUTH_MODE: 'workload-identity', AZURE_CLIENT_ID: app.clientId, AZURE_FEDERATED_TOKEN_FILE: file });
    const credential = createAzureCredential(config.azure);
    assert.ok(credential instanceof WorkloadIdentityCredential);
    await useAzure(config, credential);
    assertTokens(app.clientId, 'federatedToken');
  });

  it('the default app accepts all three credentials', async () => {
    const app = sim.entra.defaultApplication;
    assert.ok(app.privateKeyPem);
    const base = { AZURE_CLIENT_ID: app.clientId };
    const certificateFile = writeFile('default-app.pem', app.certificatePem + app.privateKeyPem);
    const tokenFile = writeFile('default-app-token', app.federatedToken);
    const modes: Array<Record<string, string>> = [
      { AZURE_AUTH_MODE: 'client-secret', AZURE_CLIENT_SECRET: app.clientSecret },
      { AZURE_AUTH_MODE: 'client-certificate', AZURE_CLIENT_CERTIFICATE_PATH: certificateFile },
      { AZURE_AUTH_MODE: 'workload-identity', AZURE_FEDERATED_TOKEN_FILE: tokenFile },
    ];
    for (const env of modes) {
      const token = await createAzureCredential(configFor({ ...base, ...env }).azure).getToken('https://vault.azure.net/.default');
      assert.match(token?.token ?? '', /^simaz\./, env.AZURE_AUTH_MODE);
    }
    assert.deepEqual(
      sim.identity
        .issued()
        .filter((token) => token.clientId === app.clientId)
        .map((token) => token.authMethod),
      ['clientSecret', 'clientCertificate', 'federatedToken'],
    );
  });

  it('a custom cloud made of the simulator, with Key Vault challenge verification on', async () => {
    const app = sim.entra.registerApplication();
    const config = configFor({
      AZURE_CLOUD: 'custom',
      AZURE_AUTHORITY_HOST: sim.authorityHost,
      ARM_ENDPOINT: sim.urls.arm,
      AZURE_KEY_VAULT_SUFFIX: 'vault.localhost',
      AZURE_KEY_VAULT_URL: vaultLocalhostUrl(sim.urls.keyVault),
      KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'true',
      AZURE_DISABLE_INSTANCE_DISCOVERY: '',
      AZURE_AUTH_MODE: 'client-secret',
      AZURE_CLIENT_ID: app.clientId,
      AZURE_CLIENT_SECRET: app.clientSecret!,
    });
    assert.equal(config.azure.cloud.name, 'custom');
    assert.equal(config.azure.disableInstanceDiscovery, true, 'the default for a non-Microsoft authority');
    const agent = localhostSubdomainAgent();
    agents.push(agent);
    await useAzure(config, createAzureCredential(config.azure), agent);
    assertTokens(app.clientId, 'clientSecret', 'https://vault.localhost');
  });

  describe('refusals, as the SDK reports them', () => {
    const vaultRead = (credential: TokenCredential) =>
      new SecretClient(sim.urls.keyVault, credential, { disableChallengeResourceVerification: true }).getSecret(INCODE_SECRET_NAMES.apiKey);

    it('a wrong client secret: AADSTS7000215, and no secret in the error', async () => {
      const app = sim.entra.registerApplication();
      const wrong = `${app.clientSecret}-old`;
      const config = configFor({ AZURE_AUTH_MODE: 'client-secret', AZURE_CLIENT_ID: app.clientId, AZURE_CLIENT_SECRET: wrong });
      const check = (error: Error) => {
        assert.match(error.message, /invalid_client/);
        assert.match(error.message, /AADSTS7000215: Invalid client secret provided/);
        assert.ok(!error.message.includes(wrong) && !error.message.includes(app.clientSecret!), 'no secret in the message');
        return true;
      };
      await assert.rejects(vaultRead(createAzureCredential(config.azure)), check);
      const ws = sim.sentinel.defaultWorkspace;
      const sentinel = new SecurityInsights(createAzureCredential(config.azure), ws.subscriptionId, { endpoint: sim.urls.arm });
      await assert.rejects(sentinel.incidents.get(ws.resourceGroup, ws.workspaceName, incident.name), check);
      assert.equal(sim.identity.issued().filter((token) => token.clientId === app.clientId).length, 0);
    });

    it('an unknown client id or tenant', async () => {
      const config = configFor({ AZURE_AUTH_MODE: 'client-secret', AZURE_CLIENT_ID: randomUUID(), AZURE_CLIENT_SECRET: 'whatever-secret' });
      await assert.rejects(
        vaultRead(createAzureCredential(config.azure)),
        /AADSTS700016: Application with identifier '[0-9a-f-]{36}' was not found in the directory/,
      );
      const app = sim.entra.registerApplication();
      const otherTenant = new ClientSecretCredential(randomUUID(), app.clientId, app.clientSecret!, {
        authorityHost: sim.authorityHost,
        disableInstanceDiscovery: true,
      });
      // Entra answers the unknown tenant's OpenID configuration with 400 invalid_tenant; MSAL gives up there.
      await assert.rejects(otherTenant.getToken('https://vault.azure.net/.default'), /endpoints_resolution_error/);
    });

    it('a certificate that is not registered, or a key that is not the certificate’s: AADSTS700027', async () => {
      const registered = generateAppCertificate('registered');
      const other = generateAppCertificate('not registered');
      const app = sim.entra.registerApplication({ certificatePem: registered.certificatePem });

      const otherFile = writeFile('other.pem', other.certificatePem + other.privateKeyPem);
      const config = configFor({
        AZURE_AUTH_MODE: 'client-certificate',
        AZURE_CLIENT_ID: app.clientId,
        AZURE_CLIENT_CERTIFICATE_PATH: otherFile,
      });
      await assert.rejects(
        vaultRead(createAzureCredential(config.azure)),
        /AADSTS700027: The certificate with identifier used to sign the client assertion is not registered/,
      );

      // The registered certificate with another key: the configuration refuses it, and so does Entra's signature check.
      const forged = writeFile('forged.pem', registered.certificatePem + other.privateKeyPem);
      assert.throws(
        () => configFor({ AZURE_AUTH_MODE: 'client-certificate', AZURE_CLIENT_ID: app.clientId, AZURE_CLIENT_CERTIFICATE_PATH: forged }),
        (error: unknown) => error instanceof ConfigError && /does not belong to its \(first\) certificate/.test(error.message),
      );
      const direct = new ClientCertificateCredential(
        sim.tenantId,
        app.clientId,
        { certificatePath: forged },
        { authorityHost: sim.authorityHost, disableInstanceDiscovery: true },
      );
      await assert.rejects(
        direct.getToken('https://vault.azure.net/.default'),
        /AADSTS700027: Client assertion contains an invalid signature/,
      );
      assert.equal(sim.identity.issued().filter((token) => token.clientId === app.clientId).length, 0);
    });

    it('a federated token that is not the registered one: AADSTS70021', async () => {
      const app = sim.entra.registerApplication({ federatedToken: generateFederatedToken() });
      const file = writeFile('stale-token', generateFederatedToken('system:serviceaccount:soc:someone-else'));
      const config = configFor({ AZURE_AUTH_MODE: 'workload-identity', AZURE_CLIENT_ID: app.clientId, AZURE_FEDERATED_TOKEN_FILE: file });
      await assert.rejects(
        vaultRead(createAzureCredential(config.azure)),
        /AADSTS70021: No matching federated identity record found for presented assertion\. .*system:serviceaccount:soc:someone-else/,
      );
    });
  });

  describe('the Entra endpoints on the wire', () => {
    const tokenUrl = () => `${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/token`;
    const post = (form: Record<string, string>) =>
      fetch(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      });

    /** A client assertion as MSAL's older RS256 + x5t form (the SDK itself sends PS256 + x5t#S256). */
    function rs256Assertion(clientId: string, certificate: AppCertificate, claims: Record<string, unknown> = {}): string {
      const x5t = createHash('sha1').update(new X509Certificate(certificate.certificatePem).raw).digest('base64url');
      const now = Math.floor(Date.now() / 1000);
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const header = encode({ alg: 'RS256', typ: 'JWT', x5t });
      const payload = encode({ aud: tokenUrl(), iss: clientId, sub: clientId, jti: randomUUID(), nbf: now, exp: now + 600, ...claims });
      const input = `${header}.${payload}`;
      const signature = createSign('sha256').update(input).sign(certificate.privateKeyPem).toString('base64url');
      return `${input}.${signature}`;
    }

    it('publishes the OpenID configuration MSAL reads, for the tenant only', async () => {
      const res = await fetch(`${sim.authorityHost}/${sim.tenantId}/v2.0/.well-known/openid-configuration`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.token_endpoint, tokenUrl());
      assert.equal(body.issuer, `${sim.authorityHost}/${sim.tenantId}/v2.0`);
      assert.equal(body.authorization_endpoint, `${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/authorize`);
      assert.equal(body.jwks_uri, `${sim.authorityHost}/${sim.tenantId}/discovery/v2.0/keys`);
      const other = await fetch(`${sim.authorityHost}/${randomUUID()}/v2.0/.well-known/openid-configuration`);
      assert.equal(other.status, 400);
      assert.equal(((await other.json()) as { error: string }).error, 'invalid_tenant');
    });

    it('issues tokens in Entra’s shape, and checks RS256 assertions, their signature, audience and lifetime', async () => {
      const certificate = generateAppCertificate('wire test');
      const app = sim.entra.registerApplication({ certificatePem: certificate.certificatePem });
      const form = (assertion: string) => ({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        scope: `${sim.urls.arm}/.default`,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      });
      const ok = await post(form(rs256Assertion(app.clientId, certificate)));
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('cache-control'), 'no-store, no-cache');
      const body = (await ok.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 3600);
      // Accepted by the simulated ARM like any managed identity token.
      const ws = sim.sentinel.defaultWorkspace;
      const arm = await fetch(
        `${sim.urls.arm}/subscriptions/${ws.subscriptionId}/resourceGroups/${ws.resourceGroup}/providers` +
          `/Microsoft.OperationalInsights/workspaces/${ws.workspaceName}/providers/Microsoft.SecurityInsights/incidents` +
          `/${incident.name}?api-version=2024-09-01`,
        { headers: { authorization: `Bearer ${String(body.access_token)}` } },
      );
      assert.equal(arm.status, 200);

      const valid = rs256Assertion(app.clientId, certificate);
      const tampered = `${valid.slice(0, -4)}${valid.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      const failures: Array<[string, RegExp]> = [
        [tampered, /AADSTS700027: Client assertion contains an invalid signature/],
        [rs256Assertion(app.clientId, certificate, { aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' }), /AADSTS700212/],
        [rs256Assertion(app.clientId, certificate, { exp: Math.floor(Date.now() / 1000) - 3600 }), /AADSTS700024/],
        [rs256Assertion(randomUUID(), certificate), /AADSTS700021/],
      ];
      for (const [assertion, pattern] of failures) {
        const res = await post(form(assertion));
        assert.equal(res.status, 401);
        const error = (await res.json()) as { error: string; error_description: string; error_codes: number[] };
        assert.equal(error.error, 'invalid_client');
        assert.match(error.error_description, pattern);
        assert.match(error.error_description, /\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: /);
        assert.equal(error.error_codes.length, 1);
      }
    });

    it('answers malformed requests as Entra does', async () => {
      const app = sim.entra.registerApplication();
      const base = {
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: app.clientSecret!,
        scope: 'https://vault.azure.net/.default',
      };
      const cases: Array<[Record<string, string>, number, string, RegExp]> = [
        [{ ...base, grant_type: 'password' }, 400, 'unsupported_grant_type', /AADSTS70003/],
        [{ ...base, scope: 'https://vault.azure.net/secrets.read' }, 400, 'invalid_scope', /AADSTS1002012/],
        [{ ...base, scope: '' }, 400, 'invalid_request', /AADSTS900144: .*'scope'/],
        [{ ...base, client_secret: '' }, 401, 'invalid_client', /AADSTS7000215/],
        [{ grant_type: 'client_credentials', client_id: app.clientId, scope: base.scope }, 401, 'invalid_client', /AADSTS7000216/],
      ];
      for (const [form, status, error, pattern] of cases) {
        const res = await post(form);
        assert.equal(res.status, status, JSON.stringify(form));
        const body = (await res.json()) as { error: string; error_description: string };
        assert.equal(body.error, error);
        assert.match(body.error_description, pattern);
      }
      assert.equal((await post(base)).status, 200);
    });

    it('takes faults as the entra service, and registrations over HTTP', async () => {
      const fault = sim.faults.add({ service: 'entra', pathIncludes: '/oauth2/v2.0/token', status: 503, times: 1 });
      const app = sim.entra.registerApplication();
      const form = {
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: app.clientSecret!,
        scope: 'https://vault.azure.net/.default',
      };
      const faulted = await post(form);
      assert.equal(faulted.status, 503);
      assert.equal(((await faulted.json()) as { error: string }).error, 'service_unavailable');
      assert.equal(fault.hits, 1);
      assert.equal((await post(form)).status, 200);

      const registered = await fetch(`${sim.authorityHost}/simulator/entra/applications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ displayName: 'registered over HTTP' }),
      });
      assert.equal(registered.status, 201);
      const created = (await registered.json()) as { clientId: string; clientSecret: string };
      assert.equal((await post({ ...form, client_id: created.clientId, client_secret: created.clientSecret })).status, 200);
      const listed = (await (await fetch(`${sim.authorityHost}/simulator/entra/applications`)).json()) as {
        value: Array<{ clientId: string; credentials: string[] }>;
      };
      assert.deepEqual(listed.value.find((entry) => entry.clientId === created.clientId)?.credentials, ['clientSecret']);
      assert.ok(!JSON.stringify(listed).includes(created.clientSecret), 'the list shows which credentials, not their values');
    });
  });
});

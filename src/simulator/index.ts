import express from 'express';
import { FaultStore } from './faults';
import { buildServiceApp, listenHttps, type ListeningServer, type ServiceContext } from './http';
import { AzureTokenStore, IDENTITY_PATH, identityError, identityRouter, normalizeResource } from './identity';
import { incodeAdminRouter } from './incode-admin';
import { incodeAuthErrorBody, incodeAuthRouter } from './incode-auth';
import { incodeApiErrorBody, incodeApiRouter } from './incode';
import { IncodeStore } from './incode-store';
import { keyVaultAdminRouter, keyVaultErrorBody, keyVaultRouter } from './key-vault';
import { KeyVaultStore } from './key-vault-store';
import { resolveOptions, SIMULATED_SERVICES, type SimulatedService, type SimulatorOptions } from './options';
import { armErrorBody, sentinelRouter } from './sentinel';
import { sentinelAdminRouter } from './sentinel-admin';
import { SentinelStore } from './sentinel-store';
import { deliverSessionWebhook } from './webhook-sender';

export type { SimulatorOptions, SimulatedService, WebhookTarget, WorkspaceRef } from './options';
export type { Fault, FaultSpec, FaultStore } from './faults';
export type { AzureTokenStore, IssuedToken } from './identity';
export type { CompletionResult, IncodeSession, IncodeStore, SessionOutcome, WebhookDelivery, WebhookResult } from './incode-store';
export type { KeyVaultStore, SecretVersion, SetSecretOptions } from './key-vault-store';
export type {
  AccountInput,
  AuditEntry,
  CommentResource,
  EntityResource,
  IncidentResource,
  SeedIncidentInput,
  SentinelStore,
  WorkspaceInfo,
} from './sentinel-store';
export type { SessionWebhookPayload } from './webhook-sender';
export { challengeResourceFor } from './key-vault';
export { localhostSubdomainAgent, vaultLocalhostUrl } from './localhost-agent';

/** The Key Vault secret names Incode's guide uses, pre-loaded by default. */
export const INCODE_SECRET_NAMES = {
  clientId: 'incode-client-id',
  clientSecret: 'incode-client-secret',
  apiKey: 'incode-api-key',
  integrationReference: 'incode-integration-reference',
  authUrl: 'incode-auth-url',
  apiBaseUrl: 'incode-api-base-url',
} as const;

export interface SimulatorUrls {
  incodeAuth: string;
  incodeApi: string;
  arm: string;
  keyVault: string;
  /** Full IDENTITY_ENDPOINT value (path included). */
  identityEndpoint: string;
}

export interface RunningSimulator {
  urls: SimulatorUrls;
  identityHeader: string;
  tenantId: string;
  /** Client id the managed identity endpoint reports for the system-assigned identity. */
  systemAssignedClientId: string;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER for a process that should use this simulator's managed identity. */
  identityEnv: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  incode: IncodeStore;
  sentinel: SentinelStore;
  keyVault: KeyVaultStore;
  /** Azure tokens issued by the managed identity endpoint. */
  identity: AzureTokenStore;
  faults: FaultStore;
  setWebhookTarget(url: string, headers?: Record<string, string>): void;
  /** Closes every server and its connections (keep-alive ones too); ends pending fault delays and webhooks. */
  close(): Promise<void>;
}

/** Starts the five simulated services, each its own HTTPS server. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const config = resolveOptions(options);
  const shutdown = new AbortController();
  const faults = new FaultStore();
  const tokens = new AzureTokenStore();
  const keyVault = new KeyVaultStore();
  const sentinel = new SentinelStore(config.sentinel);
  const incode = new IncodeStore(
    config.incode,
    config.incode.directory,
    config.incode.tokenLifetimeSeconds,
    (target, payload) =>
      deliverSessionWebhook(target, payload, {
        timeoutMs: config.incode.webhookTimeoutMs,
        retryDelayMs: config.incode.webhookRetryDelayMs,
        shutdown: shutdown.signal,
      }),
    config.incode.webhook && { url: config.incode.webhook.url, headers: { ...config.incode.webhook.headers } },
  );

  // Filled in once the servers listen; routes read them per request.
  const urls: SimulatorUrls = { incodeAuth: '', incodeApi: '', arm: '', keyVault: '', identityEndpoint: '' };
  let armAudiences: string[] = [];

  const context = (service: SimulatedService, errorBody: ServiceContext['errorBody']): ServiceContext => ({
    service,
    faults,
    errorBody,
    shutdown: shutdown.signal,
    logger: config.logger,
  });
  const apps: Record<SimulatedService, express.Express> = {
    identity: buildServiceApp(context('identity', (status, _code, message) => identityError(status, message)), {
      routes: identityRouter(tokens, config.identity),
    }),
    incodeAuth: buildServiceApp(context('incodeAuth', incodeAuthErrorBody), { routes: incodeAuthRouter(incode) }),
    incodeApi: buildServiceApp(context('incodeApi', incodeApiErrorBody), {
      routes: incodeApiRouter(incode, () => urls.incodeApi),
      admin: incodeAdminRouter(incode),
    }),
    arm: buildServiceApp(context('arm', armErrorBody), {
      routes: sentinelRouter(sentinel, tokens, { tenantId: config.tenantId, audiences: () => armAudiences }),
      admin: sentinelAdminRouter(sentinel),
    }),
    keyVault: buildServiceApp(context('keyVault', keyVaultErrorBody), {
      routes: keyVaultRouter(keyVault, tokens, config.tenantId),
      admin: keyVaultAdminRouter(keyVault),
    }),
  };

  const results = await Promise.allSettled(
    SIMULATED_SERVICES.map((service) => listenHttps(apps[service], config.tls, config.host, config.ports[service])),
  );
  const servers = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((server) => server.close()));
    throw failed.reason;
  }
  const byService = Object.fromEntries(SIMULATED_SERVICES.map((service, index) => [service, servers[index]])) as Record<
    SimulatedService,
    ListeningServer
  >;

  urls.incodeAuth = byService.incodeAuth.url;
  urls.incodeApi = byService.incodeApi.url;
  urls.arm = byService.arm.url;
  urls.keyVault = byService.keyVault.url;
  urls.identityEndpoint = `${byService.identity.url}${IDENTITY_PATH}`;
  // The SDK asks for `${endpoint}/.default`, so a client pointed at the simulator wants a token for the
  // simulator's own URL; a client configured with the public scopes is accepted too.
  const armPort = byService.arm.port;
  armAudiences = [
    urls.arm,
    `https://localhost:${armPort}`,
    `https://127.0.0.1:${armPort}`,
    `https://[::1]:${armPort}`,
    'https://management.azure.com',
    'https://management.core.windows.net',
  ].map(normalizeResource);

  if (config.keyVault.preloadIncodeSecrets) {
    const values: Record<keyof typeof INCODE_SECRET_NAMES, string> = {
      clientId: config.incode.clientId,
      clientSecret: config.incode.clientSecret,
      apiKey: config.incode.apiKey,
      integrationReference: config.incode.integrationReference,
      authUrl: urls.incodeAuth,
      apiBaseUrl: urls.incodeApi,
    };
    for (const [field, name] of Object.entries(INCODE_SECRET_NAMES)) {
      keyVault.setSecret(name, values[field as keyof typeof INCODE_SECRET_NAMES]);
    }
  }
  for (const [name, value] of Object.entries(config.keyVault.secrets)) keyVault.setSecret(name, value);

  let closing: Promise<void> | undefined;
  return {
    urls,
    identityHeader: config.identity.identityHeader,
    tenantId: config.tenantId,
    systemAssignedClientId: config.identity.systemAssignedClientId,
    identityEnv: { IDENTITY_ENDPOINT: urls.identityEndpoint, IDENTITY_HEADER: config.identity.identityHeader },
    incode,
    sentinel,
    keyVault,
    identity: tokens,
    faults,
    setWebhookTarget(url, headers = {}) {
      incode.webhookTarget = { url, headers: { ...headers } };
    },
    close() {
      closing ??= (async () => {
        shutdown.abort();
        await Promise.all(servers.map((server) => server.close()));
      })();
      return closing;
    },
  };
}

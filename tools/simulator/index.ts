import express from 'express';
import { FaultStore } from './faults';
import { buildServiceApp, listenHttps, type ListeningServer, type ServiceContext } from './http';
import { entraAdminRouter, entraErrorBody, entraRouter } from './entra';
import { EntraDirectory } from './entra-store';
import { EntraTokenIssuer, entraJwtAdminRouter, entraJwtRouter } from './entra-jwt';
import { graphAdminRouter, graphErrorBody, graphRouter } from './graph';
import { GraphStore } from './graph-store';
import { AzureTokenStore, IDENTITY_PATH, identityError, identityRouter, normalizeResource } from './identity';
import { incodeAdminRouter } from './incode-admin';
import { incodeAuthErrorBody, incodeAuthRouter } from './incode-auth';
import { incodeApiErrorBody, incodeApiRouter } from './incode';
import { IncodeStore } from './incode-store';
import { keyVaultAdminRouter, keyVaultErrorBody, keyVaultRouter } from './key-vault';
import { KeyVaultStore } from './key-vault-store';
import { resolveOptions, type DefaultEntraApplication, type SimulatorOptions, type WebhookOAuth2 } from './options';
import { SIMULATED_SERVICES, type SimulatedService } from './services';
import { ArmThrottle } from './arm-throttle';
import { armErrorBody, sentinelRouter } from './sentinel';
import { sentinelAdminRouter } from './sentinel-admin';
import { SimulatedPlaybook, type PlaybookTarget } from './sentinel-forms';
import { SentinelStore } from './sentinel-store';
import { deliverSessionWebhook } from './webhook-sender';
import { defenderErrorBody, defenderRouter } from './defender';
import { defenderAdminRouter } from './defender-admin';
import { DefenderStore } from './defender-store';
import { logAnalyticsErrorBody, logAnalyticsRouter } from './log-analytics';
import { threatIntelAdminRouter } from './threat-intel-admin';
import { ThreatIntelStore } from './threat-intel-store';

export type { DefaultEntraApplication, SimulatorOptions, WebhookOAuth2, WebhookTarget, WorkspaceRef } from './options';
export type { SimulatedService } from './services';
export type { AppCertificate, EntraApplication, EntraApplicationInput, EntraDirectory } from './entra-store';
export { generateAppCertificate, generateClientSecret, generateFederatedToken } from './entra-store';
export type { AccessTokenRequest, EntraTokenIssuer, SigningKey } from './entra-jwt';
export type { Fault, FaultSpec, FaultStore } from './faults';
export type { AzureTokenStore, IssuedToken, TokenAuthMethod } from './identity';
export type {
  CompletionResult,
  IncodeSession,
  IncodeStore,
  SessionOutcome,
  VerifiedIdentity,
  WebhookDelivery,
  WebhookResult,
} from './incode-store';
export type { KeyVaultStore, SecretVersion, SetSecretOptions } from './key-vault-store';
export type { GraphGroup, GraphGroupInput, GraphSeed, GraphStore, GraphUser, GraphUserInput, SentMail } from './graph-store';
export { DEFAULT_GRAPH_PERMISSIONS } from './graph-store';
export { DEFAULT_GRAPH_USERS } from './options';
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
export type { DefenderAuditEntry, DefenderStore, StoredIndicator } from './defender-store';
export type { ThreatIntelRow, ThreatIntelRowInput, ThreatIntelStore } from './threat-intel-store';
export type { ThreatIntelOptions } from './options';
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
  /** Entra ID: the authority host (AZURE_AUTHORITY_HOST); the tenant's endpoints are under /{tenantId}/. */
  entra: string;
  /** Microsoft Graph (GRAPH_ENDPOINT): /v1.0/users/... */
  graph: string;
  /** Log Analytics query API (TI_SYNC_LOG_ANALYTICS_ENDPOINT): /v1/workspaces/{id}/query */
  logAnalytics: string;
  /** Defender for Endpoint API (TI_SYNC_DEFENDER_ENDPOINT): /api/indicators */
  defender: string;
}

export interface RunningSimulator {
  urls: SimulatorUrls;
  identityHeader: string;
  tenantId: string;
  /** Client id the managed identity endpoint reports for the system-assigned identity. */
  systemAssignedClientId: string;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER for a process that should use this simulator's managed identity. */
  identityEnv: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Entra ID authority host (same as urls.entra). */
  authorityHost: string;
  /**
   * The variables that point an app credential (AZURE_AUTH_MODE client-secret, client-certificate,
   * workload-identity) at this simulator's tenant; add AZURE_CLIENT_ID and the credential itself.
   */
  entraEnv: { AZURE_AUTHORITY_HOST: string; AZURE_TENANT_ID: string; AZURE_DISABLE_INSTANCE_DISCOVERY: 'true' };
  /** App registrations of the tenant; `defaultApplication` accepts a client secret, a certificate and a federated token. */
  entra: EntraDirectory & { defaultApplication: DefaultEntraApplication };
  /** Entra ID access tokens (RS256 JWTs) for an API such as the gateway, and the tenant's signing keys (JWKS). */
  entraTokens: EntraTokenIssuer;
  incode: IncodeStore;
  sentinel: SentinelStore;
  /** ARM's read and write buckets per subscription and principal; `enabled = false` turns throttling off. */
  armThrottle: ArmThrottle;
  keyVault: KeyVaultStore;
  /** Microsoft Graph's users, groups, outbox and the app's permissions (denyPermission, privilegedRole). */
  graph: GraphStore;
  /** ThreatIntelIndicators rows per workspace (`defaultWorkspaceId`: the threat-intelligence workspace). */
  threatIntel: ThreatIntelStore;
  /** The tenant's Defender indicators (cap, audit of every write). */
  defender: DefenderStore;
  /** Azure tokens issued by the managed identity endpoint and by Entra ID (see IssuedToken.authMethod). */
  identity: AzureTokenStore;
  faults: FaultStore;
  setWebhookTarget(url: string, headers?: Record<string, string>, oauth2?: WebhookOAuth2): void;
  /**
   * Where the Sentinel page's "run the playbook" sends the incident trigger (the gateway's POST /api/incidents
   * with its credentials); the page's forms offer it once set.
   */
  setPlaybookTarget(target: PlaybookTarget | undefined): void;
  /** Closes every server and its connections (keep-alive ones too); ends pending fault delays and webhooks. */
  close(): Promise<void>;
}

/** Starts the simulated services, each its own HTTPS server. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const config = resolveOptions(options);
  const shutdown = new AbortController();
  const faults = new FaultStore();
  const tokens = new AzureTokenStore();
  const keyVault = new KeyVaultStore();
  const entra = Object.assign(new EntraDirectory(config.tenantId, config.entra.tokenLifetimeSeconds), {
    defaultApplication: config.entra.defaultApplication,
  });
  entra.registerApplication({ ...config.entra.defaultApplication, displayName: 'itdr-verify (simulator default app)' });
  for (const application of config.entra.applications) entra.registerApplication(application);
  const entraTokens = new EntraTokenIssuer(config.tenantId, () => urls.entra);
  const sentinel = new SentinelStore(config.sentinel);
  const armThrottle = new ArmThrottle({ enabled: config.armThrottling });
  const graph = new GraphStore(config.graph);
  const playbook = new SimulatedPlaybook();
  const threatIntel = new ThreatIntelStore(config.threatIntel.workspaceId);
  const defender = new DefenderStore(config.threatIntel.defenderCap);
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
    config.incode.webhook && {
      url: config.incode.webhook.url,
      headers: { ...config.incode.webhook.headers },
      ...(config.incode.webhook.oauth2 ? { oauth2: { ...config.incode.webhook.oauth2 } } : {}),
    },
  );

  // Filled in once the servers listen; routes read them per request.
  const urls: SimulatorUrls = {
    incodeAuth: '',
    incodeApi: '',
    arm: '',
    keyVault: '',
    identityEndpoint: '',
    entra: '',
    graph: '',
    logAnalytics: '',
    defender: '',
  };
  let armAudiences: string[] = [];
  let graphAudiences: string[] = [];
  let logAnalyticsAudiences: string[] = [];
  let defenderAudiences: string[] = [];

  const context = (service: SimulatedService, errorBody: ServiceContext['errorBody']): ServiceContext => ({
    service,
    faults,
    errorBody,
    shutdown: shutdown.signal,
    logger: config.logger,
  });
  const apps: Record<SimulatedService, express.Express> = {
    identity: buildServiceApp(
      context('identity', (status, _code, message) => identityError(status, message)),
      {
        routes: identityRouter(tokens, config.identity),
      },
    ),
    entra: buildServiceApp(context('entra', entraErrorBody), {
      // entra-jwt first: it publishes the tenant's signing keys at the jwks_uri entra.ts announces.
      routes: express.Router().use(
        entraJwtRouter(entraTokens, () => urls.entra),
        entraRouter(entra, tokens, () => urls.entra),
      ),
      admin: express.Router().use(entraJwtAdminRouter(entraTokens), entraAdminRouter(entra)),
    }),
    incodeAuth: buildServiceApp(context('incodeAuth', incodeAuthErrorBody), { routes: incodeAuthRouter(incode) }),
    incodeApi: buildServiceApp(context('incodeApi', incodeApiErrorBody), {
      routes: incodeApiRouter(incode, () => urls.incodeApi),
      admin: incodeAdminRouter(incode),
    }),
    arm: buildServiceApp(context('arm', armErrorBody), {
      routes: sentinelRouter(sentinel, tokens, { tenantId: config.tenantId, audiences: () => armAudiences }, armThrottle),
      admin: sentinelAdminRouter(sentinel, { incode, graph, playbook }),
    }),
    keyVault: buildServiceApp(context('keyVault', keyVaultErrorBody), {
      routes: keyVaultRouter(keyVault, tokens, config.tenantId),
      admin: keyVaultAdminRouter(keyVault),
    }),
    graph: buildServiceApp(context('graph', graphErrorBody), {
      routes: graphRouter(graph, tokens, { audiences: () => graphAudiences, baseUrl: () => urls.graph }),
      admin: graphAdminRouter(graph),
    }),
    logAnalytics: buildServiceApp(context('logAnalytics', logAnalyticsErrorBody), {
      routes: logAnalyticsRouter(threatIntel, tokens, {
        audiences: () => logAnalyticsAudiences,
        limits: config.threatIntel.logAnalyticsLimits,
      }),
      admin: threatIntelAdminRouter(threatIntel),
    }),
    defender: buildServiceApp(context('defender', defenderErrorBody), {
      routes: defenderRouter(defender, tokens, { audiences: () => defenderAudiences, limits: config.threatIntel.defenderLimits }),
      admin: defenderAdminRouter(defender),
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
  urls.entra = byService.entra.url;
  urls.graph = byService.graph.url;
  urls.logAnalytics = byService.logAnalytics.url;
  urls.defender = byService.defender.url;
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
  // Likewise for Graph: a client asks for `${graphEndpoint}/.default`.
  const graphPort = byService.graph.port;
  graphAudiences = [
    urls.graph,
    `https://localhost:${graphPort}`,
    `https://127.0.0.1:${graphPort}`,
    `https://[::1]:${graphPort}`,
    'https://graph.microsoft.com',
  ].map(normalizeResource);

  // Likewise for the sync's APIs; Defender's public audience is the WindowsDefenderATP app's URI.
  const loopback = (url: string, port: number) => [url, `https://localhost:${port}`, `https://127.0.0.1:${port}`, `https://[::1]:${port}`];
  logAnalyticsAudiences = [
    ...loopback(urls.logAnalytics, byService.logAnalytics.port),
    'https://api.loganalytics.io',
    'https://api.loganalytics.azure.com',
  ].map(normalizeResource);
  defenderAudiences = [
    ...loopback(urls.defender, byService.defender.port),
    'https://api.securitycenter.microsoft.com',
    'https://securitycenter.onmicrosoft.com/windowsatpservice',
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
    authorityHost: urls.entra,
    entraEnv: { AZURE_AUTHORITY_HOST: urls.entra, AZURE_TENANT_ID: config.tenantId, AZURE_DISABLE_INSTANCE_DISCOVERY: 'true' },
    entra,
    entraTokens,
    incode,
    sentinel,
    armThrottle,
    keyVault,
    graph,
    threatIntel,
    defender,
    identity: tokens,
    faults,
    setPlaybookTarget(target) {
      playbook.target = target && { url: target.url, headers: { ...target.headers } };
    },
    setWebhookTarget(url, headers = {}, oauth2) {
      incode.webhookTarget = { url, headers: { ...headers }, ...(oauth2 ? { oauth2: { ...oauth2 } } : {}) };
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

import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { defaultAppCertificate, generateClientSecret, generateFederatedToken, type EntraApplicationInput } from './entra-store';
import type { GraphSeed } from './graph-store';
import type { DefenderOperation } from './defender-store';
import type { RateLimit } from './rate-window';
import { SIMULATED_SERVICES, type SimulatedService } from './services';

/** The threat-intelligence sync's two APIs: Log Analytics (ThreatIntelIndicators) and Defender's indicators. */
export interface ThreatIntelOptions {
  /** The Log Analytics workspace id (GUID) the seeded rows go to by default. */
  workspaceId?: string;
  /** Active indicators the tenant may hold (Defender: 15,000). */
  defenderCap?: number;
  /** Overrides of the documented per-operation limits (tests: a 429 storm). */
  defenderLimits?: Partial<Record<DefenderOperation, readonly RateLimit[]>>;
  logAnalyticsLimits?: readonly RateLimit[];
}

export interface WebhookTarget {
  url: string;
  headers: Record<string, string>;
  /**
   * Incode's OAuth2 webhook authentication: before sending, get a token from `tokenUrl` (client-credentials grant,
   * `Authorization: Basic base64(id:secret)`), cache it until it expires, and send it as `Authorization: Bearer`.
   */
  oauth2?: WebhookOAuth2;
}

export interface WebhookOAuth2 {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface WorkspaceRef {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
}

export interface SimulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port per service; 0 or absent = a free port. */
  ports?: Partial<Record<SimulatedService, number>>;
  /** Server certificate and key (see ensureDevCertificates). */
  tls: { certPem: string; keyPem: string };
  incode?: {
    clientId?: string;
    clientSecret?: string;
    apiKey?: string;
    integrationReference?: string;
    /** Emails that exist in the integration's directory (compared case-insensitively). */
    directory?: string[];
    tokenLifetimeSeconds?: number;
    webhook?: WebhookTarget;
    /** How long one webhook delivery may take before it counts as a timeout (Incode: 5 s). */
    webhookTimeoutMs?: number;
    /** Pause before the single retry. */
    webhookRetryDelayMs?: number;
  };
  sentinel?: Partial<WorkspaceRef>;
  /** ARM's throttling (250 reads at 25/s, 200 writes at 10/s per subscription and principal); on unless false. */
  armThrottling?: boolean;
  keyVault?: {
    /** Extra or overriding secrets; the six Incode secrets are pre-loaded unless preloadIncodeSecrets is false. */
    secrets?: Record<string, string>;
    preloadIncodeSecrets?: boolean;
  };
  identity?: {
    identityHeader?: string;
    /** Client id reported for the system-assigned identity. */
    systemAssignedClientId?: string;
    /** When set, only these user-assigned client ids are known; others get 400 as on App Service. */
    userAssignedClientIds?: string[];
    tokenLifetimeSeconds?: number;
  };
  /**
   * Microsoft Entra ID (the authority host) of the tenant: a default app registration that accepts a client
   * secret, a certificate and a federated token, plus any `applications`. Each default credential is generated
   * when absent (the certificate once per process); RunningSimulator.entra.defaultApplication has them all.
   */
  entra?: {
    clientId?: string;
    clientSecret?: string;
    /** Public certificate (PEM) of the default app; give privateKeyPem too so tests can read it back. */
    certificatePem?: string;
    privateKeyPem?: string;
    federatedToken?: string;
    /** More app registrations; register others later with `entra.registerApplication`. */
    applications?: EntraApplicationInput[];
    tokenLifetimeSeconds?: number;
  };
  /**
   * Microsoft Graph: users (profile, birthday, groups, admin roles), groups, the permissions the app is denied
   * and whether it holds a privileged role. Without `users`, DEFAULT_GRAPH_USERS are seeded.
   */
  graph?: GraphSeed;
  threatIntel?: ThreatIntelOptions;
  tenantId?: string;
  /** Request log (method, path, status, duration; never headers or bodies). Silent when absent. */
  logger?: Logger;
}

export interface ResolvedOptions {
  host: string;
  ports: Record<SimulatedService, number>;
  tls: { certPem: string; keyPem: string };
  incode: {
    clientId: string;
    clientSecret: string;
    apiKey: string;
    integrationReference: string;
    directory: string[];
    tokenLifetimeSeconds: number;
    webhook?: WebhookTarget;
    webhookTimeoutMs: number;
    webhookRetryDelayMs: number;
  };
  sentinel: WorkspaceRef;
  armThrottling: boolean;
  keyVault: { secrets: Record<string, string>; preloadIncodeSecrets: boolean };
  identity: {
    identityHeader: string;
    systemAssignedClientId: string;
    userAssignedClientIds?: string[];
    tokenLifetimeSeconds: number;
  };
  entra: {
    defaultApplication: DefaultEntraApplication;
    applications: EntraApplicationInput[];
    tokenLifetimeSeconds: number;
  };
  graph: GraphSeed;
  threatIntel: ThreatIntelOptions & { workspaceId: string };
  tenantId: string;
  logger?: Logger;
}

/** The default app registration, with the private key of its certificate (when known). */
export interface DefaultEntraApplication {
  clientId: string;
  clientSecret: string;
  certificatePem: string;
  privateKeyPem?: string;
  federatedToken: string;
}

// One per process, like the tokens (see identity.ts): MSAL's cache outlives a simulator.
const PROCESS_SYSTEM_CLIENT_ID = randomUUID();

export const DEFAULT_DIRECTORY = ['adele.vance@contoso.com', 'alex.wilber@contoso.com'];

/** The Graph users seeded by default: the people of DEFAULT_DIRECTORY. */
export const DEFAULT_GRAPH_USERS: NonNullable<GraphSeed['users']> = [
  { userPrincipalName: 'adele.vance@contoso.com', givenName: 'Adele', surname: 'Vance', employeeId: 'E1001', birthday: '1990-05-17' },
  { userPrincipalName: 'alex.wilber@contoso.com', givenName: 'Alex', surname: 'Wilber', employeeId: 'E1002' },
];

export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  if (!options?.tls?.certPem || !options.tls.keyPem) {
    throw new Error('startSimulator: tls.certPem and tls.keyPem are required (see ensureDevCertificates)');
  }
  const incode = options.incode ?? {};
  const identity = options.identity ?? {};
  const ports = Object.fromEntries(SIMULATED_SERVICES.map((service) => [service, options.ports?.[service] ?? 0])) as Record<
    SimulatedService,
    number
  >;
  return {
    host: options.host ?? '127.0.0.1',
    ports,
    tls: options.tls,
    incode: {
      clientId: incode.clientId ?? 'itdr-verify-simulator',
      clientSecret: incode.clientSecret ?? randomBytes(24).toString('base64url'),
      apiKey: incode.apiKey ?? randomBytes(24).toString('base64url'),
      integrationReference: incode.integrationReference ?? 'itdr-verify-simulator-integration',
      directory: incode.directory ?? DEFAULT_DIRECTORY,
      tokenLifetimeSeconds: positive(incode.tokenLifetimeSeconds, 3600, 'incode.tokenLifetimeSeconds'),
      webhook: incode.webhook,
      webhookTimeoutMs: positive(incode.webhookTimeoutMs, 5000, 'incode.webhookTimeoutMs'),
      webhookRetryDelayMs: incode.webhookRetryDelayMs ?? 200,
    },
    sentinel: {
      subscriptionId: options.sentinel?.subscriptionId ?? '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
      resourceGroup: options.sentinel?.resourceGroup ?? 'rg-sentinel',
      workspaceName: options.sentinel?.workspaceName ?? 'law-sentinel',
    },
    armThrottling: options.armThrottling ?? true,
    keyVault: {
      secrets: options.keyVault?.secrets ?? {},
      preloadIncodeSecrets: options.keyVault?.preloadIncodeSecrets ?? true,
    },
    identity: {
      identityHeader: identity.identityHeader ?? randomBytes(16).toString('hex'),
      systemAssignedClientId: identity.systemAssignedClientId ?? PROCESS_SYSTEM_CLIENT_ID,
      userAssignedClientIds: identity.userAssignedClientIds,
      tokenLifetimeSeconds: positive(identity.tokenLifetimeSeconds, 3600, 'identity.tokenLifetimeSeconds'),
    },
    entra: resolveEntra(options.entra),
    graph: { ...options.graph, users: options.graph?.users ?? DEFAULT_GRAPH_USERS },
    threatIntel: { ...options.threatIntel, workspaceId: options.threatIntel?.workspaceId ?? '3f0b6c2a-7d4e-4a1b-9c8d-5e6f7a8b9c0d' },
    tenantId: options.tenantId ?? randomUUID(),
    logger: options.logger,
  };
}

function resolveEntra(entra: SimulatorOptions['entra'] = {}): ResolvedOptions['entra'] {
  if (entra.privateKeyPem && !entra.certificatePem) throw new Error('startSimulator: entra.privateKeyPem needs entra.certificatePem');
  const certificate = entra.certificatePem
    ? { certificatePem: entra.certificatePem, privateKeyPem: entra.privateKeyPem }
    : defaultAppCertificate();
  return {
    defaultApplication: {
      clientId: entra.clientId ?? randomUUID(),
      clientSecret: entra.clientSecret ?? generateClientSecret(),
      certificatePem: certificate.certificatePem,
      privateKeyPem: certificate.privateKeyPem,
      federatedToken: entra.federatedToken ?? generateFederatedToken(),
    },
    applications: entra.applications ?? [],
    tokenLifetimeSeconds: positive(entra.tokenLifetimeSeconds, 3600, 'entra.tokenLifetimeSeconds'),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`startSimulator: ${name} must be a positive number`);
  return value;
}

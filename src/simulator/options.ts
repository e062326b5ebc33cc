import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** The five simulated endpoints; also the `service` of a fault. */
export type SimulatedService = 'incodeAuth' | 'incodeApi' | 'arm' | 'keyVault' | 'identity';

export const SIMULATED_SERVICES: readonly SimulatedService[] = ['incodeAuth', 'incodeApi', 'arm', 'keyVault', 'identity'];

export interface WebhookTarget {
  url: string;
  headers: Record<string, string>;
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
  keyVault: { secrets: Record<string, string>; preloadIncodeSecrets: boolean };
  identity: {
    identityHeader: string;
    systemAssignedClientId: string;
    userAssignedClientIds?: string[];
    tokenLifetimeSeconds: number;
  };
  tenantId: string;
  logger?: Logger;
}

// One per process, like the tokens (see identity.ts): MSAL's cache outlives a simulator.
const PROCESS_SYSTEM_CLIENT_ID = randomUUID();

export const DEFAULT_DIRECTORY = ['adele.vance@contoso.com', 'alex.wilber@contoso.com'];

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
    tenantId: options.tenantId ?? randomUUID(),
    logger: options.logger,
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`startSimulator: ${name} must be a positive number`);
  return value;
}

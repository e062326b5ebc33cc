import { deriveLinkKey } from '../confirmation/confirmation-link';
import { z } from 'zod';
import {
  CLOSE_CLASSIFICATIONS,
  INCIDENT_SEVERITIES,
  type CloseClassification,
  type CloseClassificationReason,
  type VerificationPolicy,
  type WorkspaceRef,
} from '../shared/types';
import { loadPolicyDocument, type PolicyDocument } from '../policy/policy-document';
import { ConfigError, csvSchema, durationSchema, httpsUrlSchema, optionalDurationSchema, parseEnv } from './parse';
import {
  gatewayObservabilityFrom,
  gatewayObservabilityShape,
  tracingShape,
  workerObservabilityFrom,
  workerObservabilityShape,
  type GatewayObservabilityConfig,
  type WorkerObservabilityConfig,
} from './observability';
import { azureEnvShape, checkKeyVaultUrl, resolveAzureEnvironment, type AzureAuth, type AzureCloud } from './azure-cloud';
import { loadTiSyncConfig, type TiSyncConfig } from './ti-sync';

/**
 * Configuration is read once at start-up from the environment, validated, and frozen. Each process
 * (worker, gateway) takes only the sections it needs, so a gateway does not demand Key Vault settings.
 */

/** The payload encryption key (also all that replaying a history needs). */
export const payloadKeyShape = {
  PAYLOAD_ENCRYPTION_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
  PAYLOAD_ENCRYPTION_KEY_ID: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).default('k1'),
};

export const temporalShape = {
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('itdr-verify'),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  // A self-hosted frontend's private CA: turns TLS on (server authentication) with or without a client certificate.
  TEMPORAL_TLS_CA_PATH: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  ...payloadKeyShape,
};

/**
 * The confirmation page's links (gateway: the page; worker: the links in e-mails). CONFIRMATION_PAGE_URL is
 * the gateway as users reach it; CONFIRMATION_LINK_KEY signs the links (default: derived from
 * PAYLOAD_ENCRYPTION_KEY, which both processes hold).
 */
const confirmationShape = {
  CONFIRMATION_PAGE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })
    .refine((value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    }, 'must be https:// (http only for a loopback host)')
    .refine((value) => new URL(value).search === '' && new URL(value).hash === '', 'must have no query or fragment')
    .optional(),
  CONFIRMATION_LINK_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length >= 32, 'must be at least 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
};

export interface ConfirmationConfig {
  /** Absent: the gateway uses the address it listens on (local use); the worker cannot mail page links. */
  pageUrl?: string;
  linkKey: Buffer;
}

function confirmationFrom(env: z.infer<z.ZodObject<typeof confirmationShape & typeof payloadKeyShape>>): ConfirmationConfig {
  return {
    pageUrl: env.CONFIRMATION_PAGE_URL?.replace(/\/+$/, ''),
    linkKey: env.CONFIRMATION_LINK_KEY ? Buffer.from(env.CONFIRMATION_LINK_KEY, 'base64') : deriveLinkKey(Buffer.from(env.PAYLOAD_ENCRYPTION_KEY, 'base64')),
  };
}

/** CONFIRMATION_PAGE_URL and the links' key alone (the operator CLI's `resend --show-link`). */
export function loadConfirmationConfig(env: NodeJS.ProcessEnv = process.env): ConfirmationConfig {
  return confirmationFrom(parseEnv({ ...confirmationShape, ...payloadKeyShape }, env, 'confirmation link'));
}

const azureShape = {
  // AZURE_AUTH_MODE, AZURE_CLOUD, AZURE_CLIENT_ID, ARM_ENDPOINT, ... (see azure-cloud.ts)
  ...azureEnvShape,
  SENTINEL_API_VERSION: z.string().default('2024-09-01'),
  AZURE_HTTP_TIMEOUT: durationSchema.default(30_000),
};

const workspaceShape = {
  SENTINEL_SUBSCRIPTION_ID: z.string().regex(/^[0-9a-fA-F-]{36}$/, 'must be a subscription GUID'),
  SENTINEL_RESOURCE_GROUP: z.string().min(1),
  SENTINEL_WORKSPACE_NAME: z.string().min(1),
};

const policyShape = {
  VERIFICATION_TIMEOUT: durationSchema.default(24 * 3_600_000),
  RESULT_POLL_INTERVAL: durationSchema.default(5 * 60_000),
  LINK_VALIDITY_MINUTES: z.coerce.number().int().min(5).max(60 * 24 * 30).default(1440),
  CLOSE_CLASSIFICATION: z.enum(Object.keys(CLOSE_CLASSIFICATIONS) as [CloseClassification]).default('FalsePositive'),
  CLOSE_CLASSIFICATION_REASON: z.string().optional(),
  ESCALATION_SEVERITY: z.enum(INCIDENT_SEVERITIES).default('High'),
  FAILURE_LABEL: z.string().min(1).max(128).default('identity-verification-failed'),
  VERIFICATION_JOIN_WINDOW: optionalDurationSchema.default(3_600_000),
  REVIEW_TIMEOUT: durationSchema.default(8 * 3_600_000),
  REMINDER_INTERVAL: optionalDurationSchema.default(0),
  MAX_REMINDERS: z.coerce.number().int().min(0).max(20).default(2),
};

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** mTLS client certificate (certPath, keyPath) and/or the server's CA (caPath); absent: no TLS unless apiKey. */
  tls?: { certPath?: string; keyPath?: string; caPath?: string };
  apiKey?: string;
  payloadKey: { id: string; key: Buffer };
}

export interface AzureConfig {
  /** AZURE_CLIENT_ID in managed-identity mode (a user-assigned identity); unset otherwise. */
  managedIdentityClientId?: string;
  /** The cloud's ARM endpoint, or a loopback override (the simulator). */
  armEndpoint: string;
  /** The cloud's Microsoft Graph endpoint, or GRAPH_ENDPOINT; undefined for AZURE_CLOUD=custom without GRAPH_ENDPOINT. */
  graphEndpoint?: string;
  sentinelApiVersion: string;
  httpTimeoutMs: number;
  /** AZURE_CLOUD: authority host, ARM endpoint and Key Vault suffix. */
  cloud: AzureCloud;
  /** AZURE_AUTH_MODE and its settings (secrets as SecretValue). */
  auth: AzureAuth;
  /** Authority host the credentials use. */
  authorityHost: string;
  disableInstanceDiscovery: boolean;
}

export interface KeyVaultConfig {
  vaultUrl: string;
  /**
   * The SDK checks that the vault's host belongs to the resource its auth challenge names. Only the
   * simulator (an IP address, where no such check can pass) needs it off.
   */
  verifyChallengeResource: boolean;
  secretNames: IncodeSecretNames;
  cacheTtlMs: number;
}

export interface IncodeSecretNames {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  integrationReference: string;
  authUrl: string;
  apiBaseUrl: string;
}

export const DEFAULT_SECRET_NAMES: IncodeSecretNames = {
  clientId: 'incode-client-id',
  clientSecret: 'incode-client-secret',
  apiKey: 'incode-api-key',
  integrationReference: 'incode-integration-reference',
  authUrl: 'incode-auth-url',
  apiBaseUrl: 'incode-api-base-url',
};

/** KEY_VAULT_SECRET_<FIELD>: the name of each of Incode's six secrets in the vault (Key Vault's name rules). */
const secretNameSchema = z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault secret name: 1-127 letters, digits and hyphens');
const secretNamesShape = {
  KEY_VAULT_SECRET_CLIENT_ID: secretNameSchema.default(DEFAULT_SECRET_NAMES.clientId),
  KEY_VAULT_SECRET_CLIENT_SECRET: secretNameSchema.default(DEFAULT_SECRET_NAMES.clientSecret),
  KEY_VAULT_SECRET_API_KEY: secretNameSchema.default(DEFAULT_SECRET_NAMES.apiKey),
  KEY_VAULT_SECRET_INTEGRATION_REFERENCE: secretNameSchema.default(DEFAULT_SECRET_NAMES.integrationReference),
  KEY_VAULT_SECRET_AUTH_URL: secretNameSchema.default(DEFAULT_SECRET_NAMES.authUrl),
  KEY_VAULT_SECRET_API_BASE_URL: secretNameSchema.default(DEFAULT_SECRET_NAMES.apiBaseUrl),
};

function secretNamesFrom(env: z.infer<z.ZodObject<typeof secretNamesShape>>): IncodeSecretNames {
  return Object.freeze({
    clientId: env.KEY_VAULT_SECRET_CLIENT_ID,
    clientSecret: env.KEY_VAULT_SECRET_CLIENT_SECRET,
    apiKey: env.KEY_VAULT_SECRET_API_KEY,
    integrationReference: env.KEY_VAULT_SECRET_INTEGRATION_REFERENCE,
    authUrl: env.KEY_VAULT_SECRET_AUTH_URL,
    apiBaseUrl: env.KEY_VAULT_SECRET_API_BASE_URL,
  });
}

/** The daily check of the Key Vault secrets' expiry dates (SECRET_EXPIRY_*). */
export interface SecretExpiryConfig {
  warningDays: number;
  /** POSTed (names and dates only) when a secret expires within warningDays. */
  webhookUrl?: string;
  /** SECRET_EXPIRY_SCHEDULE; unset: the worker's default (on in production, off in the local stack). */
  schedule?: boolean;
}

export interface WorkerConfig {
  temporal: TemporalConfig;
  azure: AzureConfig;
  keyVault: KeyVaultConfig;
  incodeHttpTimeoutMs: number;
  maxCachedWorkflows: number;
  maxConcurrentActivities: number;
  /**
   * The subscriptions whose Sentinel task queue this worker polls (SENTINEL_SUBSCRIPTION_ID and those of
   * SENTINEL_ALLOWED_WORKSPACES, lower case, each once): ARM's write budget is per subscription and principal.
   */
  sentinelSubscriptions: string[];
  /** Activity dispatches per second on each subscription's Sentinel queue and on the Incode queue, enforced by the Temporal server; 0 = unlimited. */
  sentinelActivitiesPerSecond: number;
  incodeActivitiesPerSecond: number;
  logLevel: string;
  /** Always set by loadWorkerConfig. */
  secretExpiry?: SecretExpiryConfig;
  /** Metrics server, Temporal SDK metrics, tracing (always set by loadWorkerConfig). */
  observability?: WorkerObservabilityConfig;
  /** TI_SYNC_*: the threat-intelligence syncs; absent when TI_SYNC_FEEDS is unset. */
  tiSync?: TiSyncConfig;
  /** Links to the confirmation page in e-mails (always set by loadWorkerConfig). */
  confirmation?: ConfirmationConfig;
}

export interface GatewayCaller {
  name: string;
  key: string;
}

/** A managed identity or app allowed to call the control endpoints with an Entra ID token (its `oid`). */
export interface EntraCaller {
  name: string;
  objectId: string;
}

/** Entra ID bearer-token authentication of the control endpoints (GATEWAY_ENTRA_*). */
export interface GatewayEntraConfig {
  tenantId: string;
  /** Accepted `aud` values: the App ID URI (v1 tokens) and/or the app's client id (v2 tokens). */
  audiences: string[];
  allowedCallers: EntraCaller[];
  /** Authority host without the tenant, e.g. https://login.microsoftonline.com. */
  authorityHost: string;
  /** The tenant's signing keys (JWKS). */
  jwksUrl: string;
}

/** INCODE_WEBHOOK_AUTH: how Incode authenticates its webhooks (a shared-secret header, OAuth2 client credentials, or either). */
export type WebhookAuthMode = 'shared-secret' | 'oauth2' | 'both';

export interface GatewayWebhookConfig {
  auth?: WebhookAuthMode;
  /** INCODE_WEBHOOK_SECRET: set when `auth` is shared-secret (the default) or both. */
  secret?: string;
  headerName: string;
  /** The client Incode authenticates as at POST /api/webhooks/incode/token: set when `auth` is oauth2 or both. */
  oauth2?: { clientId: string; clientSecret: string; tokenTtlMs: number };
}

export interface GatewayConfig {
  temporal: TemporalConfig;
  azure: AzureConfig;
  port: number;
  host: string;
  /** API-key callers; empty when only Entra ID tokens are accepted. */
  callers: GatewayCaller[];
  /** Entra ID bearer tokens; absent when only API keys are accepted. */
  entra?: GatewayEntraConfig;
  webhook: GatewayWebhookConfig;
  defaultWorkspace: WorkspaceRef;
  /** The default workspace first, then SENTINEL_ALLOWED_WORKSPACES (MSSP); absent means the default only. */
  allowedWorkspaces?: WorkspaceRef[];
  policy: VerificationPolicy;
  /** POLICY_FILE, validated: rules by incident severity and Entra group membership. */
  policyDocument?: PolicyDocument;
  linkDeadlineMs: number;
  /** GATEWAY_REPLICAS: how many gateways share the budgets below; each process keeps its share (budget / replicas). */
  replicas: number;
  /** This replica's share of the gateway's ARM budget (incident reads), per subscription: a token bucket held in this process. */
  armBudget: { perSecond: number; burst: number };
  /** SIGTERM: fail readiness, wait `drainDelayMs` (the load balancer stops sending), then finish in-flight requests within `timeoutMs`. */
  shutdown: { drainDelayMs: number; timeoutMs: number };
  bodyLimitBytes: number;
  /** This replica's share of the requests per minute per authenticated caller (control endpoints) and per IP (webhook, failed authentication). */
  rateLimitPerMinute: number;
  /** This replica's share of the authenticated webhooks per client IP and minute. */
  webhookRateLimitPerMinute: number;
  logLevel: string;
  /** GET /metrics, tracing (always set by loadGatewayConfig). */
  observability?: GatewayObservabilityConfig;
  /** The confirmation page (always set by loadGatewayConfig). */
  confirmation?: ConfirmationConfig;
}

const logShape = { LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') };

export function payloadKeyFrom(env: z.infer<z.ZodObject<typeof payloadKeyShape>>): TemporalConfig['payloadKey'] {
  return { id: env.PAYLOAD_ENCRYPTION_KEY_ID, key: Buffer.from(env.PAYLOAD_ENCRYPTION_KEY, 'base64') };
}

export function temporalFrom(env: z.infer<z.ZodObject<typeof temporalShape>>): TemporalConfig {
  if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError('Invalid configuration: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)');
  }
  return Object.freeze({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    tls:
      env.TEMPORAL_TLS_CERT_PATH || env.TEMPORAL_TLS_CA_PATH
        ? { certPath: env.TEMPORAL_TLS_CERT_PATH, keyPath: env.TEMPORAL_TLS_KEY_PATH, caPath: env.TEMPORAL_TLS_CA_PATH }
        : undefined,
    apiKey: env.TEMPORAL_API_KEY,
    payloadKey: payloadKeyFrom(env),
  });
}

function azureFrom(env: z.infer<z.ZodObject<typeof azureShape>>): AzureConfig {
  return Object.freeze({
    ...resolveAzureEnvironment(env),
    sentinelApiVersion: env.SENTINEL_API_VERSION,
    httpTimeoutMs: env.AZURE_HTTP_TIMEOUT,
  });
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = parseEnv(
    {
      ...temporalShape,
      ...azureShape,
      ...logShape,
      AZURE_KEY_VAULT_URL: httpsUrlSchema,
      SECRET_CACHE_TTL: durationSchema.default(5 * 60_000),
      KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: z.enum(['true', 'false']).default('true'),
      INCODE_HTTP_TIMEOUT: durationSchema.default(15_000),
      WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(200),
      WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(50),
      // ARM refills a principal's write bucket at 10/s; each Sentinel activity makes one write (plus a read).
      SENTINEL_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1000).default(10),
      // Incode publishes no rate limit: a conservative default, to be raised with Incode's agreement.
      INCODE_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1000).default(20),
      // The same variables as the gateway's: the worker needs only the subscriptions, one Sentinel queue each.
      SENTINEL_SUBSCRIPTION_ID: workspaceShape.SENTINEL_SUBSCRIPTION_ID,
      SENTINEL_ALLOWED_WORKSPACES: csvSchema.optional(),
      ...secretNamesShape,
      SECRET_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
      SECRET_EXPIRY_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
      SECRET_EXPIRY_SCHEDULE: z.enum(['true', 'false']).optional(),
      ...workerObservabilityShape,
      ...tracingShape,
      ...confirmationShape,
    },
    env,
    'worker',
  );
  const azure = azureFrom(parsed);
  return Object.freeze({
    temporal: temporalFrom(parsed),
    azure,
    keyVault: {
      vaultUrl: checkKeyVaultUrl(parsed.AZURE_KEY_VAULT_URL, azureFrom(parsed)),
      verifyChallengeResource: parsed.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE === 'true',
      secretNames: secretNamesFrom(parsed),
      cacheTtlMs: parsed.SECRET_CACHE_TTL,
    },
    secretExpiry: {
      warningDays: parsed.SECRET_EXPIRY_WARNING_DAYS,
      webhookUrl: parsed.SECRET_EXPIRY_WEBHOOK_URL,
      schedule: parsed.SECRET_EXPIRY_SCHEDULE === undefined ? undefined : parsed.SECRET_EXPIRY_SCHEDULE === 'true',
    },
    incodeHttpTimeoutMs: parsed.INCODE_HTTP_TIMEOUT,
    maxCachedWorkflows: parsed.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivities: parsed.WORKER_MAX_CONCURRENT_ACTIVITIES,
    sentinelSubscriptions: servedSubscriptions(parsed.SENTINEL_SUBSCRIPTION_ID, parsed.SENTINEL_ALLOWED_WORKSPACES ?? []),
    sentinelActivitiesPerSecond: parsed.SENTINEL_RATE_LIMIT_PER_SECOND,
    incodeActivitiesPerSecond: parsed.INCODE_RATE_LIMIT_PER_SECOND,
    logLevel: parsed.LOG_LEVEL,
    observability: workerObservabilityFrom(parsed),
    tiSync: loadTiSyncConfig(env, azure.cloud),
    confirmation: confirmationFrom(parsed),
  });
}

/** The default subscription first, then each other one of SENTINEL_ALLOWED_WORKSPACES, validated as the gateway does. */
function servedSubscriptions(defaultSubscription: string, allowedWorkspaces: string[]): string[] {
  const placeholder = { subscriptionId: defaultSubscription, resourceGroup: 'default', workspaceName: 'default' };
  const subscriptions = parseAllowedWorkspaces(placeholder, allowedWorkspaces, 'worker').map((ref) => ref.subscriptionId.toLowerCase());
  return [...new Set(subscriptions)];
}

/** SENTINEL_SUBSCRIPTION_ID, _RESOURCE_GROUP, _WORKSPACE_NAME when all are set (the doctor's Sentinel check); undefined when none is. */
export function loadWorkspaceRef(env: NodeJS.ProcessEnv = process.env): WorkspaceRef | undefined {
  if (!Object.keys(workspaceShape).some((name) => env[name]?.trim())) return undefined;
  const parsed = parseEnv(workspaceShape, env, 'Sentinel workspace');
  return { subscriptionId: parsed.SENTINEL_SUBSCRIPTION_ID, resourceGroup: parsed.SENTINEL_RESOURCE_GROUP, workspaceName: parsed.SENTINEL_WORKSPACE_NAME };
}

/** `GATEWAY_API_KEYS=sentinel-playbook=<key>,soc-cli=<key>`: the name shows up in audit comments. */
function parseCallers(entries: string[]): GatewayCaller[] {
  return entries.map((entry, index) => {
    const separator = entry.indexOf('=');
    const name = separator > 0 ? entry.slice(0, separator) : `api-key-${index + 1}`;
    const key = separator > 0 ? entry.slice(separator + 1) : entry;
    if (key.length < 24) {
      throw new ConfigError(`Invalid gateway configuration:\n  GATEWAY_API_KEYS: key "${name}" is shorter than 24 characters`);
    }
    return { name, key };
  });
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * GATEWAY_ENTRA_*: all or nothing. `GATEWAY_ENTRA_ALLOWED_CALLERS=sentinel-playbook=<oid>,<oid>`: object ids of
 * the service principals (managed identities) allowed to call; the name shows up in audit comments.
 */
function parseEntra(
  env: {
    GATEWAY_ENTRA_TENANT_ID?: string;
    GATEWAY_ENTRA_AUDIENCE?: string[];
    GATEWAY_ENTRA_ALLOWED_CALLERS?: string[];
    GATEWAY_ENTRA_AUTHORITY_HOST?: string;
    GATEWAY_ENTRA_JWKS_URL?: string;
  },
  defaultAuthorityHost: string,
): GatewayEntraConfig | undefined {
  const problems: string[] = [];
  const tenantId = env.GATEWAY_ENTRA_TENANT_ID;
  if (!tenantId) {
    const stray = (['GATEWAY_ENTRA_AUDIENCE', 'GATEWAY_ENTRA_ALLOWED_CALLERS', 'GATEWAY_ENTRA_AUTHORITY_HOST', 'GATEWAY_ENTRA_JWKS_URL'] as const).filter(
      (name) => env[name] !== undefined,
    );
    if (stray.length === 0) return undefined;
    throw new ConfigError(`Invalid gateway configuration:\n  GATEWAY_ENTRA_TENANT_ID: is required when ${stray.join(', ')} is set`);
  }
  if (!GUID.test(tenantId)) problems.push('GATEWAY_ENTRA_TENANT_ID: must be the tenant id (a GUID), as in the tokens\' tid claim');
  const audiences = env.GATEWAY_ENTRA_AUDIENCE ?? [];
  if (audiences.length === 0) problems.push('GATEWAY_ENTRA_AUDIENCE: is required with GATEWAY_ENTRA_TENANT_ID (the App ID URI and/or client id of the gateway\'s app registration)');
  const seen = new Set<string>();
  const allowedCallers = (env.GATEWAY_ENTRA_ALLOWED_CALLERS ?? []).map((entry) => {
    const separator = entry.lastIndexOf('=');
    const objectId = (separator > 0 ? entry.slice(separator + 1) : entry).trim().toLowerCase();
    const name = separator > 0 ? entry.slice(0, separator).trim() : `entra-${objectId}`;
    if (!GUID.test(objectId)) problems.push(`GATEWAY_ENTRA_ALLOWED_CALLERS: "${name}" is not an object id (a GUID)`);
    else if (seen.has(objectId)) problems.push(`GATEWAY_ENTRA_ALLOWED_CALLERS: object id of "${name}" is listed twice`);
    seen.add(objectId);
    return { name, objectId };
  });
  if (allowedCallers.length === 0) problems.push('GATEWAY_ENTRA_ALLOWED_CALLERS: is required with GATEWAY_ENTRA_TENANT_ID (name=object-id pairs)');
  if (problems.length) throw new ConfigError(`Invalid gateway configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  const authorityHost = (env.GATEWAY_ENTRA_AUTHORITY_HOST ?? defaultAuthorityHost).replace(/\/+$/, '');
  return Object.freeze({
    tenantId: tenantId.toLowerCase(),
    audiences,
    allowedCallers,
    authorityHost,
    jwksUrl: env.GATEWAY_ENTRA_JWKS_URL ?? `${authorityHost}/${tenantId.toLowerCase()}/discovery/v2.0/keys`,
  });
}

/**
 * INCODE_WEBHOOK_AUTH=shared-secret needs INCODE_WEBHOOK_SECRET; oauth2 needs INCODE_WEBHOOK_CLIENT_ID and
 * INCODE_WEBHOOK_CLIENT_SECRET (the credentials given to Incode with the token URL); both needs all three.
 */
function webhookFrom(env: {
  INCODE_WEBHOOK_AUTH: WebhookAuthMode;
  INCODE_WEBHOOK_SECRET?: string;
  INCODE_WEBHOOK_SECRET_HEADER: string;
  INCODE_WEBHOOK_CLIENT_ID?: string;
  INCODE_WEBHOOK_CLIENT_SECRET?: string;
  INCODE_WEBHOOK_TOKEN_TTL: number;
}): GatewayWebhookConfig {
  const mode = env.INCODE_WEBHOOK_AUTH;
  const problems: string[] = [];
  const sharedSecret = mode !== 'oauth2';
  const oauth2 = mode !== 'shared-secret';
  if (sharedSecret && !env.INCODE_WEBHOOK_SECRET) problems.push(`INCODE_WEBHOOK_SECRET: is required with INCODE_WEBHOOK_AUTH=${mode}`);
  if (oauth2 && !env.INCODE_WEBHOOK_CLIENT_ID) problems.push(`INCODE_WEBHOOK_CLIENT_ID: is required with INCODE_WEBHOOK_AUTH=${mode}`);
  if (oauth2 && !env.INCODE_WEBHOOK_CLIENT_SECRET) problems.push(`INCODE_WEBHOOK_CLIENT_SECRET: is required with INCODE_WEBHOOK_AUTH=${mode}`);
  if (problems.length) throw new ConfigError(`Invalid gateway configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  return {
    auth: mode,
    secret: sharedSecret ? env.INCODE_WEBHOOK_SECRET : undefined,
    headerName: env.INCODE_WEBHOOK_SECRET_HEADER.toLowerCase(),
    oauth2: oauth2
      ? { clientId: env.INCODE_WEBHOOK_CLIENT_ID!, clientSecret: env.INCODE_WEBHOOK_CLIENT_SECRET!, tokenTtlMs: env.INCODE_WEBHOOK_TOKEN_TTL }
      : undefined,
  };
}

const RESOURCE_GROUP = /^[-\w._()]{1,90}$/;
const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{2,62}$/;

/**
 * `SENTINEL_ALLOWED_WORKSPACES=<subscriptionId>/<resourceGroup>/<workspaceName>,...`: more workspaces this
 * deployment serves (an MSSP serving several customers), besides the default one. Duplicates are dropped.
 */
function parseAllowedWorkspaces(defaultWorkspace: WorkspaceRef, entries: string[], component = 'gateway'): WorkspaceRef[] {
  const problems: string[] = [];
  const key = (ref: WorkspaceRef) => `${ref.subscriptionId}/${ref.resourceGroup}/${ref.workspaceName}`.toLowerCase();
  const served = new Map<string, WorkspaceRef>([[key(defaultWorkspace), defaultWorkspace]]);
  for (const entry of entries) {
    const parts = entry.split('/').map((part) => part.trim());
    const [subscriptionId = '', resourceGroup = '', workspaceName = ''] = parts;
    const why =
      parts.length !== 3
        ? 'is not subscriptionId/resourceGroup/workspaceName'
        : !GUID.test(subscriptionId)
          ? 'its subscription id is not a GUID'
          : !RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')
            ? 'its resource group name is not valid'
            : !WORKSPACE_NAME.test(workspaceName)
              ? 'its workspace name is not valid (4-63 letters, digits and hyphens)'
              : undefined;
    if (why) {
      problems.push(`SENTINEL_ALLOWED_WORKSPACES: "${entry}" ${why}`);
      continue;
    }
    const ref = { subscriptionId, resourceGroup, workspaceName };
    if (!served.has(key(ref))) served.set(key(ref), ref);
  }
  if (problems.length) throw new ConfigError(`Invalid ${component} configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  return [...served.values()];
}

function policyFrom(env: z.infer<z.ZodObject<typeof policyShape>>): VerificationPolicy {
  const allowedReasons: readonly string[] = CLOSE_CLASSIFICATIONS[env.CLOSE_CLASSIFICATION];
  const reason = env.CLOSE_CLASSIFICATION_REASON ?? allowedReasons[0];
  if (!allowedReasons.includes(reason)) {
    throw new ConfigError(
      `Invalid gateway configuration:\n  CLOSE_CLASSIFICATION_REASON: "${reason}" does not go with ${env.CLOSE_CLASSIFICATION}; use one of ${allowedReasons.join(', ')}`,
    );
  }
  return {
    timeoutMs: env.VERIFICATION_TIMEOUT,
    pollIntervalMs: env.RESULT_POLL_INTERVAL,
    linkValidityMinutes: env.LINK_VALIDITY_MINUTES,
    closeClassification: env.CLOSE_CLASSIFICATION,
    closeClassificationReason: reason as CloseClassificationReason,
    escalationSeverity: env.ESCALATION_SEVERITY,
    failureLabel: env.FAILURE_LABEL,
    joinWindowMs: env.VERIFICATION_JOIN_WINDOW,
    reviewTimeoutMs: env.REVIEW_TIMEOUT,
    reminderIntervalMs: env.REMINDER_INTERVAL,
    maxReminders: env.MAX_REMINDERS,
  };
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = parseEnv(
    {
      ...temporalShape,
      ...azureShape,
      ...workspaceShape,
      ...policyShape,
      ...logShape,
      GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
      GATEWAY_HOST: z.string().default('0.0.0.0'),
      // Optional when Entra ID authentication is configured; at least one of the two is.
      GATEWAY_API_KEYS: csvSchema.pipe(z.array(z.string()).min(1, 'needs at least one name=key entry')).optional(),
      GATEWAY_ENTRA_TENANT_ID: z.string().optional(),
      GATEWAY_ENTRA_AUDIENCE: csvSchema.optional(),
      GATEWAY_ENTRA_ALLOWED_CALLERS: csvSchema.optional(),
      GATEWAY_ENTRA_AUTHORITY_HOST: httpsUrlSchema.optional(),
      GATEWAY_ENTRA_JWKS_URL: httpsUrlSchema.optional(),
      GATEWAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
      GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(6000),
      INCODE_WEBHOOK_AUTH: z.enum(['shared-secret', 'oauth2', 'both']).default('shared-secret'),
      INCODE_WEBHOOK_SECRET: z.string().min(24, 'must be at least 24 characters').optional(),
      INCODE_WEBHOOK_CLIENT_ID: z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 printable characters without spaces').refine((value) => !value.includes(':'), 'must not contain ":" (HTTP Basic)').optional(),
      INCODE_WEBHOOK_CLIENT_SECRET: z.string().min(24, 'must be at least 24 characters').max(512).optional(),
      INCODE_WEBHOOK_TOKEN_TTL: durationSchema.pipe(z.number().min(1_000, 'must be at least 1s').max(24 * 3_600_000, 'must be at most 24h')).default(10 * 60_000),
      SENTINEL_ALLOWED_WORKSPACES: csvSchema.optional(),
      INCODE_WEBHOOK_SECRET_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/).default('x-incode-webhook-secret'),
      GATEWAY_LINK_DEADLINE: durationSchema.default(20_000),
      // ARM's read bucket is 250, refilled at 25/s, per subscription and principal; the worker's Sentinel queue
      // reads at most 10/s, so the gateway keeps to the rest even when both share one identity.
      GATEWAY_ARM_REQUESTS_PER_SECOND: z.coerce.number().min(0.1).max(1000).default(15),
      GATEWAY_ARM_BURST: z.coerce.number().int().min(1).max(10_000).default(150),
      // Round-robin behind a load balancer, each replica sees 1/N of the traffic: its share of a budget is budget / N.
      GATEWAY_REPLICAS: z.coerce.number().int().min(1).max(1000).default(1),
      GATEWAY_DRAIN_DELAY: optionalDurationSchema.default(0),
      GATEWAY_SHUTDOWN_TIMEOUT: durationSchema.default(30_000),
      GATEWAY_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
      POLICY_FILE: z.string().optional(),
      ...gatewayObservabilityShape,
      ...tracingShape,
      ...confirmationShape,
    },
    env,
    'gateway',
  );
  const azure = azureFrom(parsed);
  const entra = parseEntra(parsed, azure.cloud.authorityHost);
  if (!parsed.GATEWAY_API_KEYS && !entra) {
    throw new ConfigError(
      'Invalid gateway configuration:\n  GATEWAY_API_KEYS: is required unless Entra ID authentication is configured (GATEWAY_ENTRA_TENANT_ID, GATEWAY_ENTRA_AUDIENCE, GATEWAY_ENTRA_ALLOWED_CALLERS)',
    );
  }
  const replicas = parsed.GATEWAY_REPLICAS;
  const defaultWorkspace: WorkspaceRef = {
    subscriptionId: parsed.SENTINEL_SUBSCRIPTION_ID,
    resourceGroup: parsed.SENTINEL_RESOURCE_GROUP,
    workspaceName: parsed.SENTINEL_WORKSPACE_NAME,
  };
  return Object.freeze({
    temporal: temporalFrom(parsed),
    azure,
    port: parsed.GATEWAY_PORT,
    host: parsed.GATEWAY_HOST,
    callers: parseCallers(parsed.GATEWAY_API_KEYS ?? []),
    entra,
    webhook: webhookFrom(parsed),
    defaultWorkspace,
    allowedWorkspaces: parseAllowedWorkspaces(defaultWorkspace, parsed.SENTINEL_ALLOWED_WORKSPACES ?? []),
    policy: policyFrom(parsed),
    policyDocument: parsed.POLICY_FILE ? loadPolicyDocument(parsed.POLICY_FILE) : undefined,
    linkDeadlineMs: parsed.GATEWAY_LINK_DEADLINE,
    replicas,
    armBudget: { perSecond: parsed.GATEWAY_ARM_REQUESTS_PER_SECOND / replicas, burst: Math.max(1, Math.floor(parsed.GATEWAY_ARM_BURST / replicas)) },
    shutdown: { drainDelayMs: parsed.GATEWAY_DRAIN_DELAY, timeoutMs: parsed.GATEWAY_SHUTDOWN_TIMEOUT },
    bodyLimitBytes: parsed.GATEWAY_BODY_LIMIT_BYTES,
    rateLimitPerMinute: Math.max(1, Math.ceil(parsed.GATEWAY_RATE_LIMIT_PER_MINUTE / replicas)),
    webhookRateLimitPerMinute: Math.max(1, Math.ceil(parsed.GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE / replicas)),
    logLevel: parsed.LOG_LEVEL,
    observability: gatewayObservabilityFrom(parsed),
    confirmation: confirmationFrom(parsed),
  });
}

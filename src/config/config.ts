import { z } from 'zod';
import {
  CLOSE_CLASSIFICATIONS,
  INCIDENT_SEVERITIES,
  type CloseClassification,
  type CloseClassificationReason,
  type VerificationPolicy,
  type WorkspaceRef,
} from '../shared/types';
import { ConfigError, csvSchema, durationSchema, httpsUrlSchema, optionalDurationSchema, parseEnv } from './parse';

/**
 * Configuration is read once at start-up from the environment, validated, and frozen. Each process
 * (worker, gateway) takes only the sections it needs, so a gateway does not demand Key Vault settings.
 */

const temporalShape = {
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('itdr-verify'),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  PAYLOAD_ENCRYPTION_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
  PAYLOAD_ENCRYPTION_KEY_ID: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).default('k1'),
};

const azureShape = {
  AZURE_CLIENT_ID: z.string().optional(),
  ARM_ENDPOINT: httpsUrlSchema.default('https://management.azure.com'),
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
};

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: { certPath: string; keyPath: string };
  apiKey?: string;
  payloadKey: { id: string; key: Buffer };
}

export interface AzureConfig {
  managedIdentityClientId?: string;
  armEndpoint: string;
  sentinelApiVersion: string;
  httpTimeoutMs: number;
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

export interface WorkerConfig {
  temporal: TemporalConfig;
  azure: AzureConfig;
  keyVault: KeyVaultConfig;
  incodeHttpTimeoutMs: number;
  maxCachedWorkflows: number;
  maxConcurrentActivities: number;
  logLevel: string;
}

export interface GatewayCaller {
  name: string;
  key: string;
}

export interface GatewayConfig {
  temporal: TemporalConfig;
  azure: AzureConfig;
  port: number;
  host: string;
  callers: GatewayCaller[];
  webhook: { secret: string; headerName: string };
  defaultWorkspace: WorkspaceRef;
  policy: VerificationPolicy;
  linkDeadlineMs: number;
  bodyLimitBytes: number;
  logLevel: string;
}

const logShape = { LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') };

function temporalFrom(env: z.infer<z.ZodObject<typeof temporalShape>>): TemporalConfig {
  if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError('Invalid configuration: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)');
  }
  return Object.freeze({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    tls: env.TEMPORAL_TLS_CERT_PATH ? { certPath: env.TEMPORAL_TLS_CERT_PATH, keyPath: env.TEMPORAL_TLS_KEY_PATH! } : undefined,
    apiKey: env.TEMPORAL_API_KEY,
    payloadKey: { id: env.PAYLOAD_ENCRYPTION_KEY_ID, key: Buffer.from(env.PAYLOAD_ENCRYPTION_KEY, 'base64') },
  });
}

function azureFrom(env: z.infer<z.ZodObject<typeof azureShape>>): AzureConfig {
  return Object.freeze({
    managedIdentityClientId: env.AZURE_CLIENT_ID,
    armEndpoint: env.ARM_ENDPOINT.replace(/\/+$/, ''),
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
      WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(500),
      WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(50),
    },
    env,
    'worker',
  );
  return Object.freeze({
    temporal: temporalFrom(parsed),
    azure: azureFrom(parsed),
    keyVault: {
      vaultUrl: parsed.AZURE_KEY_VAULT_URL,
      verifyChallengeResource: parsed.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE === 'true',
      secretNames: DEFAULT_SECRET_NAMES,
      cacheTtlMs: parsed.SECRET_CACHE_TTL,
    },
    incodeHttpTimeoutMs: parsed.INCODE_HTTP_TIMEOUT,
    maxCachedWorkflows: parsed.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivities: parsed.WORKER_MAX_CONCURRENT_ACTIVITIES,
    logLevel: parsed.LOG_LEVEL,
  });
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
      GATEWAY_API_KEYS: csvSchema.pipe(z.array(z.string()).min(1, 'needs at least one name=key entry')),
      INCODE_WEBHOOK_SECRET: z.string().min(24, 'must be at least 24 characters'),
      INCODE_WEBHOOK_SECRET_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/).default('x-incode-webhook-secret'),
      GATEWAY_LINK_DEADLINE: durationSchema.default(20_000),
      GATEWAY_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
    },
    env,
    'gateway',
  );
  return Object.freeze({
    temporal: temporalFrom(parsed),
    azure: azureFrom(parsed),
    port: parsed.GATEWAY_PORT,
    host: parsed.GATEWAY_HOST,
    callers: parseCallers(parsed.GATEWAY_API_KEYS),
    webhook: { secret: parsed.INCODE_WEBHOOK_SECRET, headerName: parsed.INCODE_WEBHOOK_SECRET_HEADER.toLowerCase() },
    defaultWorkspace: {
      subscriptionId: parsed.SENTINEL_SUBSCRIPTION_ID,
      resourceGroup: parsed.SENTINEL_RESOURCE_GROUP,
      workspaceName: parsed.SENTINEL_WORKSPACE_NAME,
    },
    policy: policyFrom(parsed),
    linkDeadlineMs: parsed.GATEWAY_LINK_DEADLINE,
    bodyLimitBytes: parsed.GATEWAY_BODY_LIMIT_BYTES,
    logLevel: parsed.LOG_LEVEL,
  });
}

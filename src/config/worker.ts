import { z } from 'zod';
import { azureFrom, azureShape, type AzureConfig } from './azure';
import { confirmationFrom, confirmationShape, type ConfirmationConfig } from './confirmation';
import {
  keyVaultFrom,
  keyVaultShape,
  secretExpiryFrom,
  secretExpiryShape,
  type KeyVaultConfig,
  type SecretExpiryConfig,
} from './key-vault';
import { logShape, tracingShape, workerObservabilityFrom, workerObservabilityShape, type WorkerObservabilityConfig } from './observability';
import { durationSchema, parseEnv } from './parse';
import { checkTemporal, temporalFrom, temporalShape, type TemporalConfig } from './temporal';
import { loadTiSyncConfig, type TiSyncConfig } from './ti-sync';
import { allowedWorkspacesSchema, servedSubscriptions, subscriptionIdSchema } from './workspaces';

/** The worker's configuration: read once at start-up from the environment, validated, and frozen. */

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
  /**
   * Activity dispatches per second on each subscription's Sentinel queue and on the Incode queue, enforced by the Temporal server; 0 =
   * unlimited.
   */
  sentinelActivitiesPerSecond: number;
  incodeActivitiesPerSecond: number;
  logLevel: string;
  secretExpiry: SecretExpiryConfig;
  /** Metrics server, Temporal SDK metrics, tracing. */
  observability: WorkerObservabilityConfig;
  /** TI_SYNC_*: the threat-intelligence syncs; absent when TI_SYNC_FEEDS is unset. */
  tiSync?: TiSyncConfig;
  /** Links to the confirmation page in e-mails. */
  confirmation: ConfirmationConfig;
}

const workerSchema = z
  .object({
    ...temporalShape,
    ...azureShape,
    ...logShape,
    ...keyVaultShape,
    ...secretExpiryShape,
    INCODE_HTTP_TIMEOUT: durationSchema.default(15_000),
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(200),
    WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(50),
    // ARM refills a principal's write bucket at 10/s; each Sentinel activity makes one write (plus a read).
    SENTINEL_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1000).default(10),
    // Incode publishes no rate limit: a conservative default, to be raised with Incode's agreement.
    INCODE_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1000).default(20),
    // The same variables as the gateway's: the worker needs only the subscriptions, one Sentinel queue each.
    SENTINEL_SUBSCRIPTION_ID: subscriptionIdSchema,
    SENTINEL_ALLOWED_WORKSPACES: allowedWorkspacesSchema,
    ...workerObservabilityShape,
    ...tracingShape,
    ...confirmationShape,
  })
  .superRefine(checkTemporal);

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = parseEnv(workerSchema, env, 'worker');
  const azure = azureFrom(parsed);
  return Object.freeze({
    temporal: temporalFrom(parsed),
    azure,
    keyVault: keyVaultFrom(parsed, azure.cloud),
    secretExpiry: secretExpiryFrom(parsed),
    incodeHttpTimeoutMs: parsed.INCODE_HTTP_TIMEOUT,
    maxCachedWorkflows: parsed.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivities: parsed.WORKER_MAX_CONCURRENT_ACTIVITIES,
    sentinelSubscriptions: servedSubscriptions(parsed.SENTINEL_SUBSCRIPTION_ID, parsed.SENTINEL_ALLOWED_WORKSPACES),
    sentinelActivitiesPerSecond: parsed.SENTINEL_RATE_LIMIT_PER_SECOND,
    incodeActivitiesPerSecond: parsed.INCODE_RATE_LIMIT_PER_SECOND,
    logLevel: parsed.LOG_LEVEL,
    observability: workerObservabilityFrom(parsed),
    tiSync: loadTiSyncConfig(env, azure.cloud),
    confirmation: confirmationFrom(parsed),
  });
}

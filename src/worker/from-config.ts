import type { TokenCredential } from '@azure/identity';
import type { NativeConnection, WorkflowBundleOption } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createAzureCredential } from '../clients/azure-credential';
import type { WorkerConfig } from '../config/worker';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/metrics';
import type { Tracing } from '../observability/tracing';
import { connectWorker, createVerificationWorker, workerTuningFrom, type VerificationWorker } from './create-worker';
import { createWorkerActivities } from './dependencies';
import { ConfirmationLinks } from '../confirmation/confirmation-link';

export interface ConfiguredWorker {
  worker: VerificationWorker;
  metrics: WorkerMetrics;
  /** Closed by the caller once `worker.run()` has returned. */
  connection: NativeConnection;
}

/**
 * A verification worker wired from its validated configuration: real clients behind the activities, the
 * configured tuning and rate limits, metrics and (optionally) tracing. `src/worker.ts`, the local stack and
 * the worker processes of the chaos test and the bench all build their worker here, so they run the same thing.
 */
export async function createWorkerFromConfig(
  config: WorkerConfig,
  options: {
    /** Defaults to the credential AZURE_AUTH_MODE selects; the local stack shares one with its gateway. */
    credential?: TokenCredential;
    /** For the secret expiry check's warnings. */
    logger?: Logger;
    tracing?: Tracing;
    /** A prebuilt bundle (tests, chaos); bundled from src/workflows at start-up otherwise. */
    workflowBundle?: WorkflowBundleOption;
    identity?: string;
  } = {},
): Promise<ConfiguredWorker> {
  const metrics = createWorkerMetrics();
  const connection = await connectWorker(config.temporal);
  try {
    const worker = await createVerificationWorker({
      connection,
      temporal: config.temporal,
      activities: createWorkerActivities({
        credential: options.credential ?? createAzureCredential(config.azure),
        azure: config.azure,
        keyVault: config.keyVault,
        incodeHttpTimeoutMs: config.incodeHttpTimeoutMs,
        onApiError: metrics.observeApiError,
        confirmationLinks: config.confirmation.pageUrl
          ? new ConfirmationLinks(config.confirmation.linkKey, config.confirmation.pageUrl)
          : undefined,
        secretExpiry: {
          warningDays: config.secretExpiry.warningDays,
          webhookUrl: config.secretExpiry.webhookUrl,
          ...(options.logger ? { logger: options.logger } : {}),
          onExpiryDays: (secret, days) =>
            days === undefined ? metrics.secretExpiryDays.remove({ secret }) : metrics.secretExpiryDays.set({ secret }, days),
        },
        ...(config.tiSync
          ? {
              tiSync: {
                config: config.tiSync,
                onCall: metrics.tiSync.observeCall,
                onRunFinished: (result) => metrics.tiSync.recordRun(result),
                ...(options.logger ? { logger: options.logger } : {}),
              },
            }
          : {}),
      }),
      tuning: workerTuningFrom(config),
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
      ...(options.identity ? { identity: options.identity } : {}),
      observability: { metrics, tracing: options.tracing },
    });
    return { worker, metrics, connection };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

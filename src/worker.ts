import { Runtime } from '@temporalio/worker';
import { ConfigError } from './config/parse';
import { loadWorkerConfig } from './config/worker';
import { startMetricsServer } from './observability/metrics-server';
import { startTracing } from './observability/tracing';
import { createLogger } from './shared/logger';
import { createTemporalClient } from './temporal/connection';
import { ensureSecretExpirySchedule } from './worker/secret-expiry-schedule';
import { ensureTiSyncSchedules } from './worker/ti-sync-schedule';
import { workerReadiness } from './worker/create-worker';
import { createWorkerFromConfig } from './worker/from-config';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger({ name: 'worker', level: config.logLevel });
  const observability = config.observability;
  // The SDK's own metrics (task latencies, slots, polls) on their own Prometheus endpoint. Runtime.install
  // must come once per process, before anything uses the SDK's runtime (the connection below does).
  if (observability.temporalMetricsBind) {
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: observability.temporalMetricsBind } } } });
  }
  const tracing = observability.tracing.enabled ? await startTracing(observability.tracing) : undefined;
  const { worker, metrics, connection } = await createWorkerFromConfig(config, { logger, tracing });
  // The daily secret expiry check (SECRET_EXPIRY_SCHEDULE, on by default): created, or updated if it exists.
  // A failure here (e.g. a namespace role without schedule rights) is logged; verifications do not depend on it.
  if (config.secretExpiry.schedule ?? true) {
    try {
      const temporal = await createTemporalClient(config.temporal);
      try {
        const outcome = await ensureSecretExpirySchedule(temporal.client, { taskQueue: config.temporal.taskQueue });
        logger.info({ schedule: 'itdr-verify-secret-expiry', outcome }, 'secret expiry schedule ready');
      } finally {
        await temporal.connection.close();
      }
    } catch (error) {
      logger.error(
        { schedule: 'itdr-verify-secret-expiry', reason: (error as Error).message },
        'could not create the secret expiry schedule (SECRET_EXPIRY_SCHEDULE=false turns it off)',
      );
    }
  }
  // One schedule per threat-intelligence sync (TI_SYNC_FEEDS; TI_SYNC_SCHEDULE=false leaves them to the CLI).
  if (config.tiSync && (config.tiSync.schedule ?? true)) {
    try {
      const temporal = await createTemporalClient(config.temporal);
      try {
        const schedules = await ensureTiSyncSchedules(temporal.client, { taskQueue: config.temporal.taskQueue, config: config.tiSync });
        logger.info({ schedules }, 'threat-intelligence sync schedules ready');
      } finally {
        await temporal.connection.close();
      }
    } catch (error) {
      logger.error(
        { reason: (error as Error).message },
        'could not create the threat-intelligence sync schedules (TI_SYNC_SCHEDULE=false turns them off)',
      );
    }
  }
  const metricsServer =
    observability.metricsPort > 0
      ? await startMetricsServer({
          host: observability.metricsHost,
          port: observability.metricsPort,
          registry: metrics.registry,
          readiness: () => workerReadiness(worker),
        })
      : undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      worker.shutdown();
    });
  }
  logger.info(
    {
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      metrics: metricsServer?.url ?? false,
      temporalMetrics: observability.temporalMetricsBind ?? false,
      tracing: tracing ? observability.tracing.tracesEndpoint : false,
    },
    'worker started',
  );
  await worker.run();
  await metricsServer?.close();
  await connection.close();
  await tracing?.shutdown().catch(() => undefined);
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(`worker failed: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
  process.exit(1);
});

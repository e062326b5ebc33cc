import { createAzureCredential } from './clients/azure-credential';
import { loadGatewayConfig } from './config/gateway';
import { ConfigError } from './config/parse';
import { startGateway } from './gateway/create-gateway';
import { startTracing } from './observability/tracing';
import { createLogger } from './shared/logger';
import { createTemporalClient } from './temporal/connection';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger({ name: 'gateway', level: config.logLevel });
  const tracingConfig = config.observability.tracing;
  // Before the Temporal client: its interceptor reads the global tracer.
  const tracing = tracingConfig.enabled ? await startTracing(tracingConfig) : undefined;
  const { client, connection } = await createTemporalClient(config.temporal, { tracing: Boolean(tracing) });
  const gateway = await startGateway({ config, client, connection, credential: createAzureCredential(config.azure), logger });
  logger.info(
    {
      url: gateway.url,
      taskQueue: config.temporal.taskQueue,
      metrics: config.observability.metricsEnabled,
      tracing: tracing ? tracingConfig.tracesEndpoint : false,
    },
    'gateway listening',
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const shutDown = async () => {
      // Readiness fails first; then no new connection; the requests in flight finish (GATEWAY_SHUTDOWN_TIMEOUT).
      logger.info({ signal, drainDelayMs: config.shutdown.drainDelayMs, timeoutMs: config.shutdown.timeoutMs }, 'draining');
      const { cutConnections } = await gateway.drain();
      logger.info({ cutConnections }, 'drained, shutting down');
      await connection.close();
      await tracing?.shutdown().catch(() => undefined);
      process.exit(0);
    };
    // A listener's promise is dropped by the emitter: a failed drain is logged and exits non-zero here.
    process.once(signal, () => {
      shutDown().catch((error: unknown) => {
        logger.error({ reason: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(`gateway failed: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
  process.exit(1);
});

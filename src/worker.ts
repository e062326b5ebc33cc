import { createAzureCredential } from './clients/azure-credential';
import { ConfigError } from './config/parse';
import { loadWorkerConfig } from './config/config';
import { createLogger } from './shared/logger';
import { connectWorker, createVerificationWorker } from './worker/create-worker';
import { createWorkerActivities } from './worker/dependencies';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger({ name: 'worker', level: config.logLevel });
  const connection = await connectWorker(config.temporal);
  const worker = await createVerificationWorker({
    connection,
    temporal: config.temporal,
    activities: createWorkerActivities({
      credential: createAzureCredential(config.azure),
      azure: config.azure,
      keyVault: config.keyVault,
      incodeHttpTimeoutMs: config.incodeHttpTimeoutMs,
    }),
    tuning: { maxCachedWorkflows: config.maxCachedWorkflows, maxConcurrentActivities: config.maxConcurrentActivities },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      worker.shutdown();
    });
  }
  logger.info({ address: config.temporal.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue }, 'worker started');
  await worker.run();
  await connection.close();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(`worker failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});

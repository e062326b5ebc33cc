import { createAzureCredential } from './clients/azure-credential';
import { loadGatewayConfig } from './config/config';
import { ConfigError } from './config/parse';
import { startGateway } from './gateway/create-gateway';
import { createLogger } from './shared/logger';
import { createTemporalClient } from './temporal/connection';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger({ name: 'gateway', level: config.logLevel });
  const { client, connection } = await createTemporalClient(config.temporal);
  const gateway = await startGateway({ config, client, connection, credential: createAzureCredential(config.azure), logger });
  logger.info({ url: gateway.url, taskQueue: config.temporal.taskQueue }, 'gateway listening');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, async () => {
      logger.info({ signal }, 'shutting down');
      await gateway.close();
      await connection.close();
      process.exit(0);
    });
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(`gateway failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});

import type { Server } from 'node:http';
import type { TokenCredential } from '@azure/identity';
import type { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { SentinelClient } from '../clients/sentinel-client';
import type { GatewayConfig } from '../config/config';
import { createGatewayApp } from './app';
import { VerificationService } from './verification-service';

export interface RunningGateway {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Builds and starts the gateway on an existing Temporal client; used by the entry point, dev and tests. */
export async function startGateway(options: {
  config: GatewayConfig;
  client: Client;
  connection: Connection;
  credential: TokenCredential;
  logger: Logger;
}): Promise<RunningGateway> {
  const { config } = options;
  const allowedWorkspaces = [config.defaultWorkspace];
  const app = createGatewayApp({
    verifications: new VerificationService(options.client, config.temporal.taskQueue, () => allowedWorkspaces),
    intake: {
      sentinel: new SentinelClient(options.credential, config.azure),
      defaultWorkspace: config.defaultWorkspace,
      allowedWorkspaces,
      policy: config.policy,
    },
    callers: config.callers,
    webhook: config.webhook,
    linkDeadlineMs: config.linkDeadlineMs,
    bodyLimitBytes: config.bodyLimitBytes,
    logger: options.logger,
    checkTemporal: async () => {
      await options.connection.healthService.check({});
    },
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, config.host, () => resolve(listening));
    listening.once('error', reject);
  });
  // Slow-loris protection: a request must arrive whole within these limits.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

import { STATUS_CODES, type Server } from 'node:http';
import type { TokenCredential } from '@azure/identity';
import type { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { GraphClient } from '../clients/graph-client';
import { SentinelClient } from '../clients/sentinel-client';
import type { GatewayConfig } from '../config/gateway';
import { createGatewayMetrics, type GatewayMetrics } from '../observability/metrics';
import { createGatewayApp } from './app';
import { createEntraTokenValidator } from './entra-auth';
import { VerificationService } from './verification-service';
import { ConfirmationLinks } from '../confirmation/confirmation-link';
import { SubscriptionIntake } from './subscription-intake';

export interface RunningGateway {
  server: Server;
  url: string;
  /** What GET /metrics serves (when GATEWAY_METRICS_ENABLED). */
  metrics: GatewayMetrics;
  /**
   * Graceful stop (SIGTERM): /readyz answers 503 at once, so the load balancer takes the replica out;
   * after `drainDelayMs` the listener closes (no new connection), requests in flight are finished (their
   * answers close their connections), and whatever still runs after `timeoutMs` is cut. Resolves when closed.
   */
  drain(options?: { drainDelayMs?: number; timeoutMs?: number }): Promise<{ cutConnections: boolean }>;
  close(): Promise<void>;
}

/** How long GET /readyz waits for Temporal's health check before answering 503. */
const READINESS_DEADLINE_MS = 3_000;

/** Builds and starts the gateway on an existing Temporal client; used by the entry point, dev and tests. */
export async function startGateway(options: {
  config: GatewayConfig;
  client: Client;
  connection: Connection;
  credential: TokenCredential;
  logger: Logger;
}): Promise<RunningGateway> {
  const { config } = options;
  // SENTINEL_ALLOWED_WORKSPACES: the default workspace first, then the others this deployment serves.
  const allowedWorkspaces = [...config.allowedWorkspaces];
  const metrics = createGatewayMetrics();
  let draining = false;
  let listeningUrl = '';
  // CONFIRMATION_PAGE_URL is how users reach the page; without it (local use) the address the gateway listens on.
  const confirmationLinks = new ConfirmationLinks(config.confirmation.linkKey, config.confirmation.pageUrl ?? (() => listeningUrl));
  // Only to read an account's mail when the caller names it by mail (needs User.Read.All, as the worker has).
  const graphEndpoint = config.azure.graphEndpoint;
  const graph = graphEndpoint
    ? new GraphClient(options.credential, {
        graphEndpoint,
        timeoutMs: config.azure.httpTimeoutMs,
        onApiError: (code) => metrics.observeApiError('graph', code),
      })
    : undefined;
  const app = createGatewayApp({
    isDraining: () => draining,
    verifications: new VerificationService(options.client, config.temporal.taskQueue, () => allowedWorkspaces),
    confirmationLinks,
    intake: {
      sentinel: new SentinelClient(options.credential, config.azure, {
        onApiError: metrics.observeApiError,
        // A burst of alerts waits for its subscription's ARM read budget (up to half the link deadline), then gets 503.
        budget: { ...config.armBudget, maxWaitMs: config.linkDeadlineMs / 2 },
      }),
      defaultWorkspace: config.defaultWorkspace,
      allowedWorkspaces,
      policy: config.policy,
      policyDocument: config.policyDocument,
      ...(graph ? { mailOf: (idOrUpn: string) => graph.mailOf(idOrUpn) } : {}),
      subscriptionIntake: new SubscriptionIntake(config.subscriptionIntake, (subscriptionId) => {
        metrics.recordIntakeRefused(subscriptionId);
        options.logger.warn({ subscriptionId }, "incident refused: its subscription's intake budget is spent");
      }),
    },
    callers: config.callers,
    bearer: config.entra && createEntraTokenValidator(config.entra),
    rateLimitPerMinute: config.rateLimitPerMinute,
    webhookRateLimitPerMinute: config.webhookRateLimitPerMinute,
    webhook: config.webhook,
    linkDeadlineMs: config.linkDeadlineMs,
    bodyLimitBytes: config.bodyLimitBytes,
    logger: options.logger,
    checkTemporal: async () => {
      // Bounded: the connection's retries would otherwise keep a probe waiting while Temporal is down.
      await options.connection.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => options.connection.healthService.check({}));
    },
    metrics,
    serveMetrics: config.observability.metricsEnabled,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, config.host, () => resolve(listening));
    listening.once('error', reject);
  });
  // Slow-loris protection: a request must arrive whole within these limits.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  // Requests Node's parser refuses before Express sees them (header too large, invalid method or header,
  // timeouts) get the same JSON error shape instead of a bare status line.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'Request headers are too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout', 'The request did not arrive in time']
          : [400, 'bad_request', 'Malformed HTTP request'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ` +
        `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // An Expect header other than 100-continue: Node would answer a bare 417.
  server.on('checkExpectation', (_req, res) => {
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    res.end(JSON.stringify({ error: { code: 'expectation_failed', message: 'Unsupported Expect header' } }));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  listeningUrl = `http://${host}:${port}`;
  return {
    server,
    url: `http://${host}:${port}`,
    metrics,
    async drain({ drainDelayMs = config.shutdown.drainDelayMs, timeoutMs = config.shutdown.timeoutMs } = {}) {
      draining = true;
      if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      server.close();
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const cut = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (cut) {
        server.closeAllConnections();
        await closed;
      }
      return { cutConnections: cut };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

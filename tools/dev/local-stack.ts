import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { WorkflowBundleOption } from '@temporalio/worker';
import type { DestinationStream } from 'pino';
import { createAzureCredential } from '../../src/clients/azure-credential';
import { loadGatewayConfig, type GatewayConfig } from '../../src/config/gateway';
import { loadWorkerConfig } from '../../src/config/worker';
import { cacheDir } from '../../src/doctor/dev-stack-record';
import { startGateway, type RunningGateway } from '../../src/gateway/create-gateway';
import type { WorkerMetrics } from '../../src/observability/metrics';
import { startMetricsServer, type MetricsServer } from '../../src/observability/metrics-server';
import { startTracing } from '../../src/observability/tracing';
import { createLogger } from '../../src/shared/logger';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../simulator';
import { ensureDevCertificates } from '../simulator/tls';
import { createTemporalClient } from '../../src/temporal/connection';
import { workerReadiness, type VerificationWorker } from '../../src/worker/create-worker';
import { createWorkerFromConfig } from '../../src/worker/from-config';
import { ensureSecretExpirySchedule } from '../../src/worker/secret-expiry-schedule';
import type { DevIdentity } from './dev-state';
import { ensureTiSyncSchedules } from '../../src/worker/ti-sync-schedule';
import { freePort } from './free-port';

/** The settings that point the product at a running simulator: its Key Vault, ARM, Graph and workspace. */
export function simulatedServicesEnv(simulator: RunningSimulator): Record<string, string> {
  const workspace = simulator.sentinel.defaultWorkspace;
  return {
    AZURE_KEY_VAULT_URL: simulator.urls.keyVault,
    // The simulated vault's host (127.0.0.1) does not end with the challenge's resource host, as the SDK checks.
    KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'false',
    ARM_ENDPOINT: simulator.urls.arm,
    GRAPH_ENDPOINT: simulator.urls.graph,
    TI_SYNC_LOG_ANALYTICS_ENDPOINT: simulator.urls.logAnalytics,
    TI_SYNC_DEFENDER_ENDPOINT: simulator.urls.defender,
    // The sync stays off until TI_SYNC_FEEDS names a feed.
    TI_SYNC_WORKSPACE_ID: simulator.threatIntel.defaultWorkspaceId,
    SENTINEL_SUBSCRIPTION_ID: workspace.subscriptionId,
    SENTINEL_RESOURCE_GROUP: workspace.resourceGroup,
    SENTINEL_WORKSPACE_NAME: workspace.workspaceName,
  };
}

export interface LocalStackOptions {
  temporalAddress: string;
  namespace?: string;
  taskQueue?: string;
  /** 0 for a free port. */
  gatewayPort?: number;
  /** Users the simulated Incode directory knows. */
  directory: string[];
  /** More environment, e.g. VERIFICATION_TIMEOUT=3s; it goes through the same validation as production. */
  env?: Record<string, string>;
  workflowBundle?: WorkflowBundleOption;
  logDestination?: DestinationStream;
  logLevel?: string;
  /**
   * Serve the worker's /metrics, /healthz and /readyz on this port (0: a free one). Off when omitted:
   * WORKER_METRICS_PORT is not used here, so stacks running side by side do not compete for 9464.
   */
  workerMetricsPort?: number;
  /**
   * false: start no worker here (the caller runs one elsewhere, e.g. `dist/src/worker.js` in its own process
   * configured from `env`); the stack then has no `worker` or `workerMetrics`. Default true.
   */
  worker?: boolean;
  /** The generated secrets to use (`npm run dev` keeps them in its state folder); fresh ones when omitted. */
  identity?: DevIdentity;
  /** Fixed simulator ports (`npm run dev`: stable across runs, so persisted links keep working); free ones when omitted. */
  simulatorPorts?: SimulatorOptions['ports'];
  /** Called with the simulator before the worker and gateway start, e.g. to restore its persisted state. */
  prepareSimulator?: (simulator: RunningSimulator) => void;
  /** The simulated ARM's throttling per subscription and principal (on unless false; see tools/simulator/arm-throttle.ts). */
  armThrottling?: boolean;
}

/** The stack without its embedded worker (`startLocalStack({ worker: false })`). */
export type LocalStackWithoutWorker = Omit<LocalStack, 'worker' | 'workerMetrics' | 'workerMetricsServer'>;

export interface LocalStack {
  simulator: RunningSimulator;
  gateway: RunningGateway;
  gatewayConfig: GatewayConfig;
  client: Client;
  /** The API key a caller of the gateway presents as `x-api-key`. */
  apiKey: string;
  /**
   * The Entra ID caller the gateway also accepts (as the Sentinel playbook's managed identity): its object id
   * and the audiences of the gateway's app registration (App ID URI for v1 tokens, client id for v2). Get a
   * token with `simulator.entraTokens.issue({ audience, objectId })`.
   */
  entraCaller: { name: string; objectId: string; audience: string; clientId: string };
  webhookSecret: string;
  /**
   * INCODE_WEBHOOK_AUTH=oauth2|both (in `env`): the token URL and client credentials the simulated Incode uses
   * to get the bearer token it sends with each webhook (generated unless INCODE_WEBHOOK_CLIENT_ID/SECRET are given).
   */
  webhookOAuth2?: { tokenUrl: string; clientId: string; clientSecret: string };
  /** The environment the worker and gateway were configured from (contains the generated secrets). */
  env: Record<string, string>;
  worker: VerificationWorker;
  /** The worker's metrics (outcomes, time to verify, API errors); the gateway's are `gateway.metrics`. */
  workerMetrics: WorkerMetrics;
  /** Present when `workerMetricsPort` was given. */
  workerMetricsServer?: MetricsServer;
  stop(): Promise<void>;
}

/**
 * The whole product on one machine: the simulator (Incode, Sentinel, Key Vault, managed identity), a worker
 * and the gateway, configured through the same environment variables and code paths as production.
 * `npm run dev` and the end-to-end tests both use it; the Temporal server is started by the caller.
 * The process must trust the simulator's CA (NODE_EXTRA_CA_CERTS) before it starts.
 */
export function startLocalStack(options: LocalStackOptions & { worker: false }): Promise<LocalStackWithoutWorker>;
export function startLocalStack(options: LocalStackOptions & { worker?: true }): Promise<LocalStack>;
export function startLocalStack(options: LocalStackOptions): Promise<LocalStackWithoutWorker>;
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack | LocalStackWithoutWorker> {
  const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));
  const logger = createLogger({ name: 'simulator', level: options.logLevel ?? 'warn', destination: options.logDestination });
  const simulator = await startSimulator({
    tls: { certPem: certificates.certPem, keyPem: certificates.keyPem },
    incode: { directory: options.directory },
    ...(options.simulatorPorts ? { ports: options.simulatorPorts } : {}),
    armThrottling: options.armThrottling ?? true,
    logger,
  });
  try {
    options.prepareSimulator?.(simulator);
  } catch (error) {
    await simulator.close();
    throw error;
  }
  // Managed identity finds its endpoint in the environment, as on App Service and Container Apps.
  Object.assign(process.env, simulator.identityEnv);

  // The gateway's port is chosen first: the worker mails links to the confirmation page it serves.
  const gatewayPort = options.gatewayPort || (await freePort());
  const apiKey = options.identity?.apiKey ?? randomBytes(24).toString('base64url');
  const webhookSecret = options.identity?.webhookSecret ?? randomBytes(24).toString('base64url');
  const entraCaller = { name: 'sentinel-playbook', objectId: randomUUID(), audience: 'api://itdr-verify-gateway', clientId: randomUUID() };
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_NAMESPACE: options.namespace ?? 'default',
    TEMPORAL_TASK_QUEUE: options.taskQueue ?? 'itdr-verify',
    PAYLOAD_ENCRYPTION_KEY: options.identity?.payloadEncryptionKey ?? randomBytes(32).toString('base64'),
    ...simulatedServicesEnv(simulator),
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_HOST: '127.0.0.1',
    CONFIRMATION_PAGE_URL: `http://127.0.0.1:${gatewayPort}`,
    GATEWAY_API_KEYS: `local-dev=${apiKey}`,
    GATEWAY_ENTRA_TENANT_ID: simulator.tenantId,
    GATEWAY_ENTRA_AUDIENCE: `${entraCaller.audience},${entraCaller.clientId}`,
    GATEWAY_ENTRA_ALLOWED_CALLERS: `${entraCaller.name}=${entraCaller.objectId}`,
    GATEWAY_ENTRA_AUTHORITY_HOST: simulator.urls.entra,
    INCODE_WEBHOOK_SECRET: webhookSecret,
    LOG_LEVEL: options.logLevel ?? 'warn',
    ...options.env,
  };
  // INCODE_WEBHOOK_AUTH=oauth2|both: generate the client Incode authenticates as at the gateway's token URL.
  const webhookAuth = env.INCODE_WEBHOOK_AUTH ?? 'shared-secret';
  if (webhookAuth === 'oauth2' || webhookAuth === 'both') {
    env.INCODE_WEBHOOK_CLIENT_ID ??= `incode-webhooks-${randomBytes(6).toString('hex')}`;
    env.INCODE_WEBHOOK_CLIENT_SECRET ??= randomBytes(32).toString('base64url');
  }
  const workerConfig = loadWorkerConfig(env);
  const gatewayConfig = loadGatewayConfig(env);
  const credential = createAzureCredential(workerConfig.azure);

  const stoppers: Array<() => Promise<void>> = [() => simulator.close()];
  const stop = async () => {
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
  };
  try {
    // OTEL_TRACING_ENABLED=true: one tracer provider for both (one process); stopped last, so it flushes everything.
    const tracingConfig = workerConfig.observability.tracing;
    const tracing = tracingConfig.enabled ? await startTracing(tracingConfig) : undefined;
    if (tracing) stoppers.push(() => tracing.shutdown());
    // worker: false leaves the worker to the caller (e.g. its own process, configured from `env`).
    let embedded: Pick<LocalStack, 'worker' | 'workerMetrics' | 'workerMetricsServer'> | undefined;
    if (options.worker !== false) {
      const {
        worker,
        metrics: workerMetrics,
        connection: nativeConnection,
      } = await createWorkerFromConfig(workerConfig, {
        credential,
        logger: createLogger({ name: 'worker', level: env.LOG_LEVEL, destination: options.logDestination }),
        tracing,
        ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
      });
      stoppers.push(() => nativeConnection.close());
      const running = worker.run();
      stoppers.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      });

      const workerMetricsServer =
        options.workerMetricsPort === undefined
          ? undefined
          : await startMetricsServer({
              host: '127.0.0.1',
              port: options.workerMetricsPort,
              registry: workerMetrics.registry,
              readiness: () => workerReadiness(worker),
            });
      if (workerMetricsServer) stoppers.push(() => workerMetricsServer.close());
      embedded = { worker, workerMetrics, workerMetricsServer };
    }

    const { client, connection }: { client: Client; connection: Connection } = await createTemporalClient(gatewayConfig.temporal, {
      tracing: Boolean(tracing),
    });
    stoppers.push(() => connection.close());
    // Off here unless SECRET_EXPIRY_SCHEDULE=true: stacks side by side would share the one schedule id.
    if (workerConfig.secretExpiry.schedule === true) {
      await ensureSecretExpirySchedule(client, { taskQueue: workerConfig.temporal.taskQueue });
    }
    // Likewise the threat-intelligence schedules (TI_SYNC_FEEDS and TI_SYNC_SCHEDULE=true).
    if (workerConfig.tiSync && workerConfig.tiSync.schedule === true) {
      await ensureTiSyncSchedules(client, { taskQueue: workerConfig.temporal.taskQueue, config: workerConfig.tiSync });
    }
    const gateway = await startGateway({
      config: gatewayConfig,
      client,
      connection,
      credential,
      logger: createLogger({ name: 'gateway', level: env.LOG_LEVEL, destination: options.logDestination }),
    });
    stoppers.push(() => gateway.close());
    const oauth2 = gatewayConfig.webhook.oauth2;
    const webhookOAuth2 = oauth2 && {
      tokenUrl: `${gateway.url}/api/webhooks/incode/token`,
      clientId: oauth2.clientId,
      clientSecret: oauth2.clientSecret,
    };
    // Incode sends the shared-secret header, or (oauth2, both) a bearer token from the token URL.
    // The Sentinel page's "run the playbook": the incident trigger to the gateway, as the playbook sends it.
    simulator.setPlaybookTarget({ url: `${gateway.url}/api/incidents`, headers: { 'x-api-key': apiKey } });
    simulator.setWebhookTarget(
      `${gateway.url}/api/webhooks/incode`,
      webhookOAuth2 ? {} : { [gatewayConfig.webhook.headerName]: webhookSecret },
      webhookOAuth2,
    );

    return {
      simulator,
      gateway,
      gatewayConfig,
      client,
      apiKey,
      entraCaller,
      webhookSecret,
      webhookOAuth2,
      env,
      ...embedded,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

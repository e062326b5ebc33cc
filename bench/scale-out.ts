/**
 * The scale-out phases of `npm run bench` (issue 15), run in a fresh process of their own:
 *
 * - `subscriptions`: K simulated subscriptions (1, 4, 16) with the simulator enforcing ARM's buckets per
 *   subscription and principal; verdicts/s against the physical limit K × 10 / writes-per-verdict, 429s seen,
 *   webhook → incident updated;
 * - `replicas`: the full path through one gateway replica, then through two, behind the same balancer;
 * - `noisy`: a quiet tenant at a steady rate alone, then while another tenant sends ten times as much.
 *
 * Production's shape: the simulator runs here (with the driver); the worker (`dist/src/worker.js`) and two
 * gateways (`dist/src/gateway.js`) run as processes of their own behind a round-robin balancer, so the
 * product's CPU (worker + gateways) is measured apart from the simulator's and the Temporal server's.
 */
import fs from 'node:fs';
import type { Client, Connection } from '@temporalio/client';
import { startLocalStack, type LocalStackWithoutWorker } from '../tools/dev/local-stack';
import { createTemporalClient } from '../src/temporal/connection';
import { killReplica, startBalancer, startReplica, urlOf, type Balancer, type Replica } from '../test/helpers/replicas';
import { answerConfirmationPage, INTAKE_LIFTED } from '../test/helpers/stack';
import { newErrors, nowMs, recordError, runPaced, runPool, withTimeout, type LoadErrors } from './load';
import { round, summarize, type LatencySummary } from './stats';
import { processCpuSeconds } from './system';
import { measureVerdictCost, type VerdictCost, type VerdictKind } from './verdict-cost';

export const SCALE_OUT_PHASES = ['subscriptions', 'replicas', 'noisy'] as const;
export type ScaleOutPhase = (typeof SCALE_OUT_PHASES)[number];

const USER = 'demo.user@contoso.com';

/** The noisy-tenant phase's gateways: the product's own share per subscription, unless the bench's caller set one. */
function withProductIntake(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const result = { ...env };
  for (const name of Object.keys(INTAKE_LIFTED)) {
    if (process.env[name] !== undefined) result[name] = process.env[name];
    else delete result[name];
  }
  return result;
}

export interface ScaleOutSettings {
  phases: readonly ScaleOutPhase[];
  /** K values of the subscriptions phase. */
  subscriptionCounts: number[];
  /** Incidents per subscription in the subscriptions phase (capped by `maxIncidents`). */
  incidentsPerSubscription: number;
  maxIncidents: number;
  concurrency: number;
  /** Verifications run before the measured phases. */
  warmUpIncidents: number;
  /** Incidents of each run of the replicas phase. */
  replicaIncidents: number;
  quietRate: number;
  noisyFactor: number;
  noisySeconds: number;
  opTimeoutMs: number;
  /** Environment of the product processes on top of the stack's (bench defaults, pass-through variables). */
  productEnv: Record<string, string>;
  logLevel: string;
  log(message: string): void;
}

export interface ProductCpu {
  /** CPU seconds of the worker process and of the gateway processes during the run. */
  workerSeconds: number;
  gatewaySeconds: number;
  temporalSeconds?: number;
  /** (worker + gateways) CPU per verdict, ms. */
  productMsPerVerdict: number;
  temporalMsPerVerdict?: number;
}

export interface BurstResult {
  label: string;
  subscriptions: number;
  gateways: number;
  incidents: number;
  verdicts: number;
  verdictsPerSecond: number;
  /** K × ARM's write refill (10/s) ÷ the measured writes per verdict. */
  physicalLimitPerSecond: number;
  writesPerVerdict: number;
  readsPerVerdict: number;
  historyEventsPerVerdict?: number;
  throttled: number;
  postToLink: LatencySummary;
  webhookToUpdated: LatencySummary;
  cpu: ProductCpu;
  wallSeconds: number;
  errors: LoadErrors;
}

export interface NoisyResult {
  quietRate: number;
  noisyRate: number;
  seconds: number;
  quietAlone: LatencySummary;
  quietWithNoise: LatencySummary;
  noisy: LatencySummary;
  /** quiet p99 with the noise ÷ quiet p99 alone (goal ≤ 2). */
  p99Ratio: number;
  noisyUnfinished: number;
  /** The noisy tenant's incidents sent, and those refused 429 for being over its subscription's share. */
  noisyIssued: number;
  noisyRefused: number;
  /** The quiet tenant's incidents refused over its share (goal 0; counted among its errors too). */
  quietRefused: number;
  throttled: number;
  errors: LoadErrors;
}

export interface ScaleOutResult {
  warmUpVerdicts: number;
  workerProcesses: number;
  gatewayProcesses: number;
  /** ARM writes, reads and history events of one verdict, verified and escalated apart (subscriptions phase). */
  verdictCosts?: VerdictCost[];
  subscriptions?: BurstResult[];
  replicas?: BurstResult[];
  noisy?: NoisyResult;
}

interface Sample {
  postMs: number;
  webhookToUpdatedMs: number;
  closedAt: number;
  workflowId: string;
}

/** Subscription GUIDs of the simulated tenants: the stack's own first, then made-up ones. */
function subscriptionIds(defaultSubscription: string, count: number): string[] {
  return [
    defaultSubscription,
    ...Array.from({ length: count - 1 }, (_, index) => `5c0ffee0-0000-4000-8000-${String(index + 1).padStart(12, '0')}`),
  ];
}

export async function runScaleOut(
  options: { temporalAddress: string; temporalPid: number; taskQueue: string; logFile: string },
  settings: ScaleOutSettings,
): Promise<ScaleOutResult> {
  const log = (message: string) => settings.log(message);
  const tenants = Math.max(2, ...settings.subscriptionCounts);
  const logDestination = fs.createWriteStream(options.logFile);
  // The stack's simulator, configuration and Temporal client; its in-process gateway is closed at once and
  // the product runs as processes below.
  const stack: LocalStackWithoutWorker = await startLocalStack({
    temporalAddress: options.temporalAddress,
    taskQueue: options.taskQueue,
    gatewayPort: 0,
    directory: [USER],
    env: {
      ...settings.productEnv,
      VERIFICATION_JOIN_WINDOW: '0',
      SENTINEL_ALLOWED_WORKSPACES: '',
      LOG_LEVEL: settings.logLevel,
    },
    logLevel: settings.logLevel,
    logDestination,
    worker: false,
    armThrottling: true,
  });
  const replicas: Replica[] = [];
  const balancers: Balancer[] = [];
  let connection: Connection | undefined;
  try {
    await stack.gateway.close();
    const subscriptions = subscriptionIds(stack.simulator.sentinel.defaultWorkspace.subscriptionId, tenants);
    const workspaces = subscriptions.map((subscriptionId, index) =>
      index === 0
        ? stack.simulator.sentinel.defaultWorkspace
        : { subscriptionId, resourceGroup: `rg-tenant-${index}`, workspaceName: `law-tenant-${index}` },
    );
    for (const workspace of workspaces.slice(1)) stack.simulator.sentinel.addWorkspace(workspace);
    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BENCH_'))),
      ...stack.env,
      ...stack.simulator.identityEnv,
      SENTINEL_ALLOWED_WORKSPACES: workspaces
        .slice(1)
        .map((ws) => `${ws.subscriptionId}/${ws.resourceGroup}/${ws.workspaceName}`)
        .join(','),
      GATEWAY_PORT: '0',
      GATEWAY_REPLICAS: '2',
      SECRET_EXPIRY_SCHEDULE: 'false',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    };
    log(`scale-out: starting 1 worker and 2 gateway processes (${tenants} subscriptions, task queue ${options.taskQueue})`);
    const [worker, ...gateways] = await Promise.all([
      startReplica('worker', 'worker', env, /"worker started"/),
      startReplica('gateway-1', 'gateway', env, /"gateway listening"/),
      startReplica('gateway-2', 'gateway', env, /"gateway listening"/),
    ]);
    replicas.push(worker, ...gateways);
    // Probed every 5 s, as a cloud load balancer does: each probe is a Temporal health check, counted in the gateways' CPU.
    const both = await startBalancer(gateways.map(urlOf), { probeIntervalMs: 5_000 });
    const one = await startBalancer([urlOf(gateways[0])], { probeIntervalMs: 5_000 });
    balancers.push(both, one);
    stack.simulator.setWebhookTarget(`${both.url}/api/webhooks/incode`, { [stack.gatewayConfig.webhook.headerName]: stack.webhookSecret });
    const temporal = await createTemporalClient(stack.gatewayConfig.temporal);
    connection = temporal.connection;
    const client = temporal.client;
    const driver: Driver = { stack, client, settings, apiKey: stack.apiKey };

    const cpuOf = () => ({
      worker: processCpuSeconds(worker.child.pid!) ?? Number.NaN,
      gateways: gateways.reduce((sum, gateway) => sum + (processCpuSeconds(gateway.child.pid!) ?? Number.NaN), 0),
      temporal: processCpuSeconds(options.temporalPid),
    });
    const burst = async (
      label: string,
      balancer: Balancer,
      gatewayCount: number,
      used: typeof workspaces,
      incidents: number,
    ): Promise<BurstResult> => {
      log(
        `scale-out: ${label}: ${incidents} incidents over ${used.length} subscription(s), ${gatewayCount} gateway(s), concurrency ` +
          `${settings.concurrency}`,
      );
      stack.simulator.armThrottle.reset();
      const ids = Array.from({ length: incidents }, (_, index) => {
        const workspace = used[index % used.length];
        return { workspace, incidentId: seed(stack, workspace, `${label} ${index}`) };
      });
      const errors = newErrors();
      const samples: Sample[] = [];
      const cpuBefore = cpuOf();
      const started = nowMs();
      await runPool(ids.length, settings.concurrency, Date.now() + settings.opTimeoutMs * 4, async (index) => {
        try {
          samples.push(await verifyOne(driver, balancer, ids[index].workspace, ids[index].incidentId));
        } catch (error) {
          recordError(errors, error);
        }
      });
      const cpuAfter = cpuOf();
      const lastClose = Math.max(...samples.map((sample) => sample.closedAt));
      const verdicts = samples.length;
      const writes = stack.simulator.armThrottle.served({ kind: 'writes' });
      const reads = stack.simulator.armThrottle.served({ kind: 'reads' });
      const writesPerVerdict = verdicts ? writes / verdicts : Number.NaN;
      const history = samples[0] ? await client.workflow.getHandle(samples[0].workflowId).fetchHistory() : undefined;
      const productSeconds = cpuAfter.worker - cpuBefore.worker + (cpuAfter.gateways - cpuBefore.gateways);
      const temporalSeconds =
        cpuAfter.temporal !== undefined && cpuBefore.temporal !== undefined ? cpuAfter.temporal - cpuBefore.temporal : undefined;
      const result: BurstResult = {
        label,
        subscriptions: used.length,
        gateways: gatewayCount,
        incidents,
        verdicts,
        verdictsPerSecond: round(verdicts / ((lastClose - started) / 1000), 2),
        physicalLimitPerSecond: round((used.length * 10) / writesPerVerdict, 2),
        writesPerVerdict: round(writesPerVerdict, 2),
        readsPerVerdict: round(verdicts ? reads / verdicts : Number.NaN, 2),
        historyEventsPerVerdict: history?.events?.length,
        throttled: stack.simulator.armThrottle.throttled(),
        postToLink: summarize(samples.map((sample) => sample.postMs)),
        webhookToUpdated: summarize(samples.map((sample) => sample.webhookToUpdatedMs)),
        cpu: {
          workerSeconds: round(cpuAfter.worker - cpuBefore.worker, 2),
          gatewaySeconds: round(cpuAfter.gateways - cpuBefore.gateways, 2),
          ...(temporalSeconds !== undefined ? { temporalSeconds: round(temporalSeconds, 2) } : {}),
          productMsPerVerdict: round((productSeconds * 1000) / verdicts),
          ...(temporalSeconds !== undefined ? { temporalMsPerVerdict: round((temporalSeconds * 1000) / verdicts) } : {}),
        },
        wallSeconds: round((nowMs() - started) / 1000, 1),
        errors,
      };
      log(
        `scale-out: ${label}: ${result.verdictsPerSecond} verdicts/s (limit ${result.physicalLimitPerSecond}/s), ` +
          `${result.throttled} 429s, p99 ${result.webhookToUpdated.p99} ms, ${result.cpu.productMsPerVerdict} ms product CPU per ` +
          `verdict`,
      );
      return result;
    };

    // Not measured: the first verifications of fresh processes pay for JIT compilation and connection set-up.
    const warmUp = await burst('warm-up', both, 2, workspaces, settings.warmUpIncidents);
    const result: ScaleOutResult = { workerProcesses: 1, gatewayProcesses: 2, warmUpVerdicts: warmUp.verdicts };
    if (settings.phases.includes('subscriptions')) {
      const costs = {
        client,
        reset: () => stack.simulator.armThrottle.reset(),
        served: (kind: 'reads' | 'writes') => stack.simulator.armThrottle.served({ kind }),
        verify: (kind: VerdictKind, index: number) =>
          verifyOne(
            driver,
            both,
            workspaces[0],
            seed(stack, workspaces[0], `cost ${kind} ${index}`),
            kind === 'verified' ? 'succeeded' : 'failed',
          ),
      };
      const perKind = Math.max(1, Math.min(10, settings.incidentsPerSubscription));
      result.verdictCosts = [await measureVerdictCost(costs, 'verified', perKind), await measureVerdictCost(costs, 'escalated', perKind)];
      for (const cost of result.verdictCosts)
        log(
          `scale-out: per ${cost.kind} verdict: ${cost.writesPerVerdict} ARM writes, ${cost.readsPerVerdict} reads, ` +
            `${cost.historyEventsPerVerdict} history events`,
        );
      result.subscriptions = [];
      for (const k of settings.subscriptionCounts) {
        const incidents = Math.min(settings.maxIncidents, k * settings.incidentsPerSubscription);
        result.subscriptions.push(await burst(`K=${k}`, both, 2, workspaces.slice(0, k), incidents));
      }
    }
    if (settings.phases.includes('replicas')) {
      // Spread over every subscription, so ARM's budgets are not what limits: the gateways are compared.
      result.replicas = [
        await burst('one gateway', one, 1, workspaces, settings.replicaIncidents),
        await burst('two gateways', both, 2, workspaces, settings.replicaIncidents),
      ];
    }
    if (settings.phases.includes('noisy')) {
      // Two gateways of their own, with the product's share of new incidents per subscription: the others
      // have it lifted. They are warmed up on two other tenants, so neither tenant's bucket is touched.
      const noisyEnv = withProductIntake(env);
      log(
        `scale-out: noisy: starting 2 gateways with ${noisyEnv.GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE ?? 'the default'} ` +
          `new incidents per subscription per minute, burst ${noisyEnv.GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION ?? 'the default'}`,
      );
      const noisyGateways = await Promise.all([
        startReplica('gateway-3', 'gateway', noisyEnv, /"gateway listening"/),
        startReplica('gateway-4', 'gateway', noisyEnv, /"gateway listening"/),
      ]);
      replicas.push(...noisyGateways);
      const noisyBalancer = await startBalancer(noisyGateways.map(urlOf), { probeIntervalMs: 5_000 });
      balancers.push(noisyBalancer);
      stack.simulator.setWebhookTarget(`${noisyBalancer.url}/api/webhooks/incode`, {
        [stack.gatewayConfig.webhook.headerName]: stack.webhookSecret,
      });
      const warmUpTenants = workspaces.slice(2, 4);
      const warmUpErrors = newErrors();
      await runPool(8, 2, Date.now() + settings.opTimeoutMs * 4, async (index) => {
        const workspace = warmUpTenants[index % warmUpTenants.length];
        await verifyOne(driver, noisyBalancer, workspace, seed(stack, workspace, `noisy warm-up ${index}`)).catch((error: unknown) =>
          recordError(warmUpErrors, error),
        );
      });
      if (warmUpErrors.count) log(`scale-out: noisy: ${warmUpErrors.count} warm-up errors, e.g. ${warmUpErrors.samples[0]}`);
      result.noisy = await runNoisy(driver, noisyBalancer, workspaces[1], workspaces[0]);
    }
    return result;
  } finally {
    for (const balancer of balancers) await balancer.close().catch(() => undefined);
    await Promise.all(replicas.map((replica) => killReplica(replica).catch(() => undefined)));
    await connection?.close().catch(() => undefined);
    await stack.stop();
    await new Promise<void>((resolve) => logDestination.end(resolve));
    // Each process's logs, for a run that went wrong.
    fs.writeFileSync(
      options.logFile.replace(/\.log$/, '-processes.log'),
      replicas.map((replica) => replica.logs.map((line) => `${replica.name} ${line}`).join('\n')).join('\n'),
    );
  }
}

interface Driver {
  stack: LocalStackWithoutWorker;
  client: Client;
  settings: ScaleOutSettings;
  apiKey: string;
}

function seed(
  stack: LocalStackWithoutWorker,
  workspace: { subscriptionId: string; resourceGroup: string; workspaceName: string },
  label: string,
): string {
  const [accountName, upnSuffix] = USER.split('@') as [string, string];
  return stack.simulator.sentinel.seedIncident({
    title: `Impossible travel activity (bench ${label})`,
    severity: 'Medium',
    workspace,
    accounts: [{ accountName, upnSuffix }],
  }).name;
}

/**
 * POST (the playbook's body) → link, the user answers "This was me" on the confirmation page, passes (Incode's
 * webhook), → the incident closed in Sentinel; or, with `outcome: 'failed'`, fails → the incident escalated.
 */
async function verifyOne(
  driver: Driver,
  balancer: Balancer,
  workspace: { subscriptionId: string; resourceGroup: string; workspaceName: string },
  incidentId: string,
  outcome: 'succeeded' | 'failed' = 'succeeded',
): Promise<Sample> {
  const { stack, client, settings } = driver;
  const deadline = Date.now() + settings.opTimeoutMs;
  const begin = nowMs();
  const response = await fetch(`${balancer.url}/api/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': driver.apiKey },
    body: JSON.stringify(stack.simulator.sentinel.playbookTrigger(incidentId, 'Create')),
    signal: AbortSignal.timeout(settings.opTimeoutMs),
  });
  const body = (await response.json().catch(() => ({}))) as {
    status?: string;
    workflowId?: string;
    interviewId?: string;
    verificationUrl?: string;
    error?: { code?: string };
  };
  const postMs = nowMs() - begin;
  if (response.status !== 200 || !body.workflowId || !body.interviewId || !body.verificationUrl)
    throw new Error(`POST answered ${response.status} ${body.error?.code ?? body.status ?? ''}`);
  // The links name the stack's address (CONFIRMATION_PAGE_URL, its in-process gateway, closed): opened through
  // the balancer under test, as a front door serving that address would.
  const confirmed = await answerConfirmationPage(body.verificationUrl, 'was-me', {
    through: balancer.url,
    signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
  });
  if (confirmed.status !== 303) throw new Error(`the confirmation page answered ${confirmed.status} to "This was me"`);
  const completeStart = nowMs();
  const completion = await withTimeout(
    stack.simulator.incode.completeSession(body.interviewId, outcome),
    Math.max(1, deadline - Date.now()),
    'completeSession',
  );
  if (!completion.webhook.delivered) throw new Error(`webhook not delivered (last status ${completion.webhook.lastStatus})`);
  await client.withDeadline(deadline, () => client.workflow.getHandle(body.workflowId!).result());
  const closing = stack.simulator.sentinel
    .auditLog(incidentId, workspace)
    .find((entry) => (outcome === 'succeeded' ? entry.changes.status?.to === 'Closed' : entry.kind === 'incidentUpdated'));
  if (!closing) throw new Error(`the workflow ended but the incident is not ${outcome === 'succeeded' ? 'closed' : 'escalated'}`);
  return { postMs, webhookToUpdatedMs: closing.at.getTime() - completeStart, closedAt: closing.at.getTime(), workflowId: body.workflowId };
}

/**
 * The quiet tenant at `quietRate`/s alone, then again while the noisy one sends `noisyFactor` times as many
 * (more than its subscription's ARM budget allows, so its own queue backs up). Verifications of the noisy
 * tenant still running at the end are terminated.
 */
async function runNoisy(
  driver: Driver,
  balancer: Balancer,
  quiet: { subscriptionId: string; resourceGroup: string; workspaceName: string },
  noisy: { subscriptionId: string; resourceGroup: string; workspaceName: string },
): Promise<NoisyResult> {
  const { settings, stack } = driver;
  const noisyRate = settings.quietRate * settings.noisyFactor;
  const durationMs = settings.noisySeconds * 1000;
  const errors = newErrors();
  const refused = { quiet: 0, noisy: 0 };
  const run = async (workspace: typeof quiet, rate: number, label: string, samples: number[], tolerateTimeouts = false) =>
    runPaced(rate, durationMs, 2_000, async (index) => {
      try {
        samples.push((await verifyOne(driver, balancer, workspace, seed(stack, workspace, `${label} ${index}`))).webhookToUpdatedMs);
      } catch (error) {
        const overShare = error instanceof Error && error.message.includes('subscription_rate_limited');
        if (overShare) refused[workspace === quiet ? 'quiet' : 'noisy'] += 1;
        if (workspace === quiet || !(tolerateTimeouts || overShare)) recordError(errors, error);
      }
    });
  settings.log(`scale-out: noisy: quiet tenant alone at ${settings.quietRate}/s for ${settings.noisySeconds} s`);
  stack.simulator.armThrottle.reset();
  const alone: number[] = [];
  await run(quiet, settings.quietRate, 'quiet alone', alone);
  settings.log(`scale-out: noisy: quiet tenant at ${settings.quietRate}/s while the noisy one sends ${noisyRate}/s`);
  const withNoise: number[] = [];
  const noisySamples: number[] = [];
  // The noisy tenant's verifications beyond its budget finish after the phase; they are not waited for.
  const noisyRun = run(noisy, noisyRate, 'noisy', noisySamples, true);
  await run(quiet, settings.quietRate, 'quiet with noise', withNoise);
  const noisyIssued = Math.floor(noisyRate * settings.noisySeconds);
  await Promise.race([noisyRun, new Promise((resolve) => setTimeout(resolve, 1_000))]);
  const unfinished = await terminateRunning(driver);
  await noisyRun;
  const quietAlone = summarize(alone);
  const quietWithNoise = summarize(withNoise);
  return {
    quietRate: settings.quietRate,
    noisyRate,
    seconds: settings.noisySeconds,
    quietAlone,
    quietWithNoise,
    noisy: summarize(noisySamples),
    p99Ratio: round(quietWithNoise.p99 / quietAlone.p99, 2),
    noisyUnfinished: Math.max(unfinished, noisyIssued - noisySamples.length - refused.noisy),
    noisyIssued,
    noisyRefused: refused.noisy,
    quietRefused: refused.quiet,
    throttled: stack.simulator.armThrottle.throttled(),
    errors,
  };
}

/** Terminates the verifications still running on this stack's task queue and says how many there were. */
async function terminateRunning(driver: Driver): Promise<number> {
  const { client, stack } = driver;
  let count = 0;
  for await (const execution of client.workflow.list({
    query: `TaskQueue = '${stack.env.TEMPORAL_TASK_QUEUE}' AND ExecutionStatus = 'Running'`,
  })) {
    count += 1;
    await client.workflow
      .getHandle(execution.workflowId)
      .terminate("bench: the noisy tenant's phase is over")
      .catch(() => undefined);
  }
  return count;
}

/**
 * `npm run bench`: throughput, latency and memory of itdr-verify on this machine, against a bare Temporal
 * baseline. Starts its own Temporal dev server (headless, free port, in memory), runs every phase with
 * bounded counts and deadlines, prints a table on stdout and writes bench/results/latest.json.
 * Progress goes to stderr. See bench/README.md for what each figure means.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { identityVerification } from '../src/workflows';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { VerificationActivities } from '../src/activities';
import type { FaultStore } from '../tools/simulator';
import { loadWorkerConfig } from '../src/config/worker';
import { startLocalStack, type LocalStackWithoutWorker } from '../tools/dev/local-stack';
import { cacheDir } from '../src/doctor/dev-stack-record';
import { packageRoot, startTemporalDevServer, temporalCliPath, type TemporalDevServer } from '../tools/dev/temporal-server';
import { ensureDevCertificates } from '../tools/simulator/tls';
import { createTemporalClient } from '../src/temporal/connection';
import { connectWorker, createVerificationWorker } from '../src/worker/create-worker';
import { answerConfirmationPage, INTAKE_LIFTED } from '../test/helpers/stack';
import { runScaleOut, SCALE_OUT_PHASES, type ScaleOutResult } from './scale-out';
import { scaleOutRows } from './scale-out-report';
import { baselineSignal, baselineWorkflow } from './baseline-workflow';
import { newErrors, nowMs, recordError, runPaced, runPool, withTimeout, type LoadErrors } from './load';
import {
  ARM_READ_BUCKET,
  ARM_WRITE_BUCKET,
  callRate,
  formatTable,
  latencyText,
  mb,
  ms,
  round,
  signedMb,
  summarize,
  type CallRateReport,
  type LatencySummary,
  type TableRow,
} from './stats';
import { memorySnapshot, PhaseMeter, processRssBytes, RssSampler, type MemorySnapshot, type PhaseUsage } from './system';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

// ---------------------------------------------------------------------------------------------- settings

function intEnv(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min} (got ${JSON.stringify(raw)})`);
  return value;
}

/** `full-unlimited` is the full path with the activity rate limits off; `full`, `paced` and `scale` run with them on. */
const PHASES = ['baseline', 'full-unlimited', 'full', 'paced', 'scale', ...SCALE_OUT_PHASES] as const;
type Phase = (typeof PHASES)[number];

const settings = {
  n: intEnv('BENCH_N', 300, 1),
  concurrency: intEnv('BENCH_CONCURRENCY', 50, 1),
  rate: intEnv('BENCH_RATE', 50, 1),
  pacedSeconds: intEnv('BENCH_DURATION', 20, 1),
  waiting: intEnv('BENCH_WAITING', 10_000, 0),
  extra: intEnv('BENCH_EXTRA', 200, 1),
  extraConcurrency: intEnv('BENCH_EXTRA_CONCURRENCY', 5, 1),
  /** One incident's whole path (POST, webhook, close) gives up after this long. */
  opTimeoutMs: intEnv('BENCH_OP_TIMEOUT_MS', 60_000, 1_000),
  /** The same, in the paced runs: an arrival not closed within this long counts as an error. */
  pacedTimeoutMs: intEnv('BENCH_PACED_TIMEOUT_MS', 30_000, 1_000),
  /** A second paced run at half the measured full-path throughput (latency when not overloaded); 0 skips it. */
  sustainableSeconds: intEnv('BENCH_SUSTAINABLE_SECONDS', 15, 0),
  /** Open-loop cap: beyond this many verifications in flight the paced run skips (and reports) arrivals. */
  maxInFlight: intEnv('BENCH_MAX_IN_FLIGHT', 2_000, 1),
  /** Time allowed to start the W waiting verifications; fewer are reported if it runs out. */
  scaleStartSeconds: intEnv('BENCH_SCALE_START_SECONDS', 300, 1),
  /** Hard stop of the whole bench (watchdog). */
  maxSeconds: intEnv('BENCH_MAX_SECONDS', 2400, 60),
  phases: (process.env.BENCH_PHASES ?? PHASES.join(','))
    .split(',')
    .map((phase) => phase.trim())
    .filter(Boolean) as Phase[],
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  /** The scale-out phases (bench/scale-out.ts). */
  subscriptionCounts: (process.env.BENCH_SUBSCRIPTIONS ?? '1,4,16')
    .split(',')
    .map((value) => Number(value.trim()))
    .filter((value) => Number.isInteger(value) && value >= 1),
  incidentsPerSubscription: intEnv('BENCH_PER_SUBSCRIPTION', 40, 1),
  scaleOutMaxIncidents: intEnv('BENCH_SCALE_OUT_MAX', 160, 1),
  replicaIncidents: intEnv('BENCH_REPLICA_N', 120, 1),
  scaleOutWarmUp: intEnv('BENCH_SCALE_OUT_WARMUP', 30, 1),
  quietRate: Number(process.env.BENCH_QUIET_RATE ?? 0.3),
  noisyFactor: intEnv('BENCH_NOISY_FACTOR', 10, 1),
  noisySeconds: intEnv('BENCH_NOISY_SECONDS', 340, 1),
};

const USERS = ['demo.user@contoso.com'];
const BASELINE_QUEUE = 'bench-baseline';
/**
 * One task queue per stack: a queue's activity rate limit is set by its pollers and the server may keep it after
 * they stop, and tasks left on a rate-limited queue by one phase must not slow the next.
 * The Sentinel and Incode activities run on `<queue>-sentinel` and `<queue>-incode` (src/shared/task-queues.ts).
 */
const PRODUCT_QUEUES = {
  limited: 'bench-itdr-verify',
  unlimited: 'bench-itdr-verify-unlimited',
  scale: 'bench-itdr-verify-scale',
  scaleOut: 'bench-itdr-verify-scale-out',
} as const;
/**
 * Product variables the bench passes through to the worker and gateway (WORKER_*, policy, activity rate
 * limits, ...). RESULT_POLL_INTERVAL defaults to 1h here, not 5m: with 5m the 10,000 waiting verifications
 * would start polling Incode in the middle of the scale phase (see README). The activity rate limits
 * (SENTINEL_RATE_LIMIT_PER_SECOND, INCODE_RATE_LIMIT_PER_SECOND) keep the product's defaults unless set.
 */
const PASS_THROUGH =
  /^(WORKER_|VERIFICATION_|RESULT_|LINK_|CLOSE_|ESCALATION_|FAILURE_|SENTINEL_|INCODE_RATE_LIMIT_|SECRET_CACHE_TTL|INCODE_HTTP_TIMEOUT|AZURE_HTTP_TIMEOUT|GATEWAY_LINK_DEADLINE|GATEWAY_RATE_LIMIT_PER_MINUTE|GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE|GATEWAY_ARM_|GATEWAY_INCIDENT)/;
/** Not passed through: they name the simulated workspace, which the bench's stack sets itself. */
const NOT_PASSED = /^SENTINEL_(SUBSCRIPTION_ID|RESOURCE_GROUP|WORKSPACE_NAME|ALLOWED_WORKSPACES)$/;
/** The full path's second run: the product's own cost, without the activity rate limits. */
const LIMITS_OFF: Record<string, string> = {
  SENTINEL_RATE_LIMIT_PER_SECOND: '0',
  INCODE_RATE_LIMIT_PER_SECOND: '0',
  GATEWAY_ARM_REQUESTS_PER_SECOND: '1000',
  GATEWAY_ARM_BURST: '10000',
};
/**
 * What the bench sets unless the environment says otherwise. The gateway's request budget
 * (GATEWAY_RATE_LIMIT_PER_MINUTE, default 600 per caller and 600 webhooks per client IP) would refuse most
 * of the bench's requests, which all come from one caller and one IP: lifted here, reported in the README.
 */
const BENCH_PRODUCT_DEFAULTS: Record<string, string> = {
  RESULT_POLL_INTERVAL: '1h',
  GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000',
  // The throughput phases measure ARM's and the machine's limits, not the product's share per tenant; the
  // noisy-tenant phase runs gateways of its own with the product's share (scale-out.ts).
  ...INTAKE_LIFTED,
};

// The scale process logs on the orchestrator's clock.
const benchStarted = performance.now() - (process.env.BENCH_T0 ? Math.max(0, Date.now() - Number(process.env.BENCH_T0)) : 0);
/** When this process's watchdog (BENCH_MAX_SECONDS, counted from its own start) stops everything. */
const hardStopAt = Date.now() + settings.maxSeconds * 1000;
function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

function passThroughEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => PASS_THROUGH.test(entry[0]) && !NOT_PASSED.test(entry[0]) && entry[1] !== undefined,
    ),
  );
}

// ---------------------------------------------------------------------------------------------- results

interface BaselineResult {
  n: number;
  concurrency: number;
  completed: number;
  errors: LoadErrors;
  elapsedMs: number;
  throughputPerSecond: number;
  workflowLatencyMs: LatencySummary;
  history?: HistoryProfile;
  usage: PhaseUsage;
}

interface VerificationSample {
  workflowId: string;
  postMs: number;
  webhookToUpdatedMs: number;
  /** completeSession (webhook sent, gateway answered 200) only. */
  webhookAckMs: number;
  closedAt: number;
}

/** The activity rate limits a stack ran with (0 = unlimited), as the worker's config read them. */
interface RateLimits {
  sentinelPerSecond: number;
  incodePerSecond: number;
}

/** What went to the simulated services during a phase (the simulator does not throttle). */
interface ServiceCalls {
  /** Accepted ARM writes (incident and comment PUTs) of the phase's incidents, from Sentinel's audit log. */
  armWrites: CallRateReport;
  /** ARM GETs during the phase (the gateway's check of each incident, the read half of a close). */
  armReads: CallRateReport;
  /** Incode API calls during the phase (create session; status and score when reading back). */
  incode: CallRateReport;
}

interface FullResult {
  taskQueue: string;
  limits: RateLimits;
  n: number;
  concurrency: number;
  closed: number;
  errors: LoadErrors;
  elapsedMs: number;
  throughputPerSecond: number;
  ratioToBaseline?: number;
  postToLinkMs: LatencySummary;
  webhookToUpdatedMs: LatencySummary;
  webhookAckMs: LatencySummary;
  calls: ServiceCalls;
  history?: HistoryProfile;
  usage: PhaseUsage;
}

interface PacedResultReport {
  limits: RateLimits;
  ratePerSecond: number;
  durationSeconds: number;
  offered: number;
  issued: number;
  skipped: number;
  closed: number;
  errors: LoadErrors;
  achievedPerSecond: number;
  maxStartLagMs: number;
  postToLinkMs: LatencySummary;
  webhookToUpdatedMs: LatencySummary;
  webhookAckMs: LatencySummary;
  calls: ServiceCalls;
  usage: PhaseUsage;
}

interface ScaleResult {
  limits: RateLimits;
  target: number;
  started: number;
  stoppedByDeadline: boolean;
  errors: LoadErrors;
  startThroughputPerSecond: number;
  runningAccordingToVisibility?: number;
  /** Verifications whose "requested" comment was still queued (Sentinel queue) when the memory was read. */
  commentsPendingAtMeasurement?: number;
  /**
   * Memory of the gateway + simulator process (the bench driver included; the worker runs in its own process).
   * Before the simulator is seeded with W incidents (and W directory users): the seeding's cost is the simulator's.
   */
  memoryBeforeSeeding: MemorySnapshot;
  memoryBefore: MemorySnapshot;
  memoryAfter: MemorySnapshot;
  /** Highest RSS of the gateway + simulator process while starting W (sampled every second). */
  gatewayRssPeak?: number;
  /** The worker process (dist/src/worker.js): RSS from /proc, sampled. */
  worker?: {
    pid: number;
    /** Once it logged "worker started" (workflow bundle built). */
    rssAtReady?: number;
    /** After the reference starts, before the W. */
    rssBefore?: number;
    /** With W waiting. */
    rssAfter?: number;
    /** Highest sampled RSS while starting W and until measured. */
    rssPeakWhileStarting?: number;
    /** VmHWM at the end: the highest RSS of its life, start-up (bundling) included. */
    rssHighWaterMark?: number;
  };
  temporalRssBefore?: number;
  temporalRssAfter?: number;
  startLatencyIdleMs: LatencySummary;
  startLatencyWhileWaitingMs: LatencySummary;
  extraErrors: LoadErrors;
  terminated: number;
  terminateSeconds: number;
  /** While starting W and the extra starts. */
  calls: ServiceCalls;
  usage: PhaseUsage;
  /** Set by the scale process: its memory when it started, and once the stack was up. */
  memoryAtProcessStart?: MemorySnapshot;
  memoryStackStarted?: MemorySnapshot;
}

// ---------------------------------------------------------------------------------------------- cleanup

const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];

/** Registers a cleanup step; the returned function runs it now (once) and unregisters it. */
function cleanupStep(name: string, run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const step = { name, run: () => (done ??= run()) };
  cleanups.push(step);
  return () => {
    const index = cleanups.indexOf(step);
    if (index >= 0) cleanups.splice(index, 1);
    return step.run();
  };
}
let cleaningUp: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()!;
      try {
        await withTimeout(step.run(), 45_000, `stopping ${step.name}`);
      } catch (error) {
        log(`cleanup: ${step.name}: ${(error as Error).message}`);
      }
    }
  })();
  return cleaningUp;
}

// ---------------------------------------------------------------------------------------------- phases

async function runBaseline(temporal: TemporalRef): Promise<BaselineResult> {
  log(`baseline: bundling bench/baseline-workflow`);
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./baseline-workflow'), logger: new DefaultLogger('WARN') });
  // The product's own config loader and worker factory, so cache size, activity slots, shutdown times and the
  // payload codec are exactly the verification worker's.
  const config = loadWorkerConfig({
    ...passThroughEnv(),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: BASELINE_QUEUE,
    PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AZURE_KEY_VAULT_URL: 'https://127.0.0.1/unused-by-the-baseline',
    SENTINEL_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
    LOG_LEVEL: 'warn',
  });
  const nativeConnection = await connectWorker(config.temporal);
  const activities = {
    async baselineBefore(input: string): Promise<string> {
      return input;
    },
    async baselineAfter(input: string): Promise<string> {
      return input;
    },
  };
  const worker = await createVerificationWorker({
    connection: nativeConnection,
    temporal: config.temporal,
    activities: activities as unknown as VerificationActivities,
    tuning: {
      maxCachedWorkflows: config.maxCachedWorkflows,
      maxConcurrentActivities: config.maxConcurrentActivities,
      sentinelSubscriptions: [],
    },
    workflowBundle: bundle,
  });
  const running = worker.run();
  const { client, connection } = await createTemporalClient(config.temporal);
  const stopWorker = async () => {
    await connection.close().catch(() => undefined);
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
    await nativeConnection.close().catch(() => undefined);
  };
  const stopBaseline = cleanupStep('baseline worker', stopWorker);

  try {
    // A short warm-up so connection set-up and the first workflow task are not in the figures.
    await driveBaseline(client, 'warmup', Math.min(20, settings.n), Math.min(10, settings.concurrency));
    log(`baseline: ${settings.n} workflows, concurrency ${settings.concurrency}`);
    const meter = new PhaseMeter(temporal.pid);
    const { completed, errors, elapsedMs, latencies } = await driveBaseline(client, 'run', settings.n, settings.concurrency);
    const usage = meter.stop();
    const result: BaselineResult = {
      n: settings.n,
      concurrency: settings.concurrency,
      completed,
      errors,
      elapsedMs: Math.round(elapsedMs),
      throughputPerSecond: round(completed / (elapsedMs / 1000)),
      workflowLatencyMs: summarize(latencies),
      history: await historyProfile(client, `bench-baseline-run-${process.pid}-0`),
      usage,
    };
    log(`baseline: ${result.throughputPerSecond} workflows/s (${completed}/${settings.n}, ${errors.count} errors)`);
    return result;
  } finally {
    await stopBaseline();
  }
}

async function driveBaseline(
  client: Client,
  tag: string,
  n: number,
  concurrency: number,
): Promise<{ completed: number; errors: LoadErrors; elapsedMs: number; latencies: number[] }> {
  const errors = newErrors();
  const latencies: number[] = [];
  let completed = 0;
  const started = nowMs();
  const deadline = Date.now() + settings.opTimeoutMs * 5;
  const progress = setInterval(() => log(`baseline ${tag}: ${completed}/${n} completed`), 5_000);
  try {
    await runPool(n, concurrency, deadline, async (index) => {
      const begin = nowMs();
      try {
        await client.withDeadline(Date.now() + settings.opTimeoutMs, async () => {
          const handle = await client.workflow.start(baselineWorkflow, {
            taskQueue: BASELINE_QUEUE,
            workflowId: `bench-baseline-${tag}-${process.pid}-${index}`,
            args: [String(index)],
          });
          await handle.signal(baselineSignal, 'ok');
          await handle.result();
        });
        completed += 1;
        latencies.push(nowMs() - begin);
      } catch (error) {
        recordError(errors, error);
      }
    });
  } finally {
    clearInterval(progress);
  }
  return { completed, errors, elapsedMs: nowMs() - started, latencies };
}

interface Bench {
  stack: LocalStackWithoutWorker;
  /** The product's task queue in this stack. */
  taskQueue: string;
  limits: RateLimits;
  /** Calls the simulated services received, with their times. */
  calls: CallRecorder;
  /** Present when the worker runs in its own process (scale phase); otherwise it is embedded in the stack. */
  worker?: WorkerProcess;
  /** The bench's own client (not the gateway's) to await workflow results. */
  client: Client;
  temporal: TemporalRef;
  /** Stops the worker process, the stack and the bench client now (they are also stopped by cleanup()). */
  stop(): Promise<void>;
}

/** What a phase needs of the Temporal server: the scale phase runs in a child process that did not start it. */
type TemporalRef = Pick<TemporalDevServer, 'address' | 'namespace' | 'pid'>;

/**
 * Times of the requests the simulated Incode API and ARM receive. The simulator offers no request log to
 * read back, but every request passes its fault store (`faults.take`) before its handler: the bench wraps
 * that one method on its own stack's instance. Recording is a push of a number; nothing else changes.
 */
class CallRecorder {
  readonly incode: number[] = [];
  readonly armReads: number[] = [];

  constructor(faults: FaultStore) {
    const take = faults.take.bind(faults);
    faults.take = (service, method, pathAndQuery) => {
      if (service === 'incodeApi' && pathAndQuery.startsWith('/omni/')) this.incode.push(Date.now());
      else if (service === 'arm' && method === 'GET') this.armReads.push(Date.now());
      return take(service, method, pathAndQuery);
    };
  }

  /** Calls between two epoch-ms times. */
  static between(times: readonly number[], from: number, to: number): number[] {
    return times.filter((time) => time >= from && time <= to);
  }
}

function serviceCalls(bench: Bench, incidentIds: readonly string[], from: number, to: number): ServiceCalls {
  return {
    armWrites: callRate(armWriteTimes(bench, incidentIds), ARM_WRITE_BUCKET),
    armReads: callRate(CallRecorder.between(bench.calls.armReads, from, to), ARM_READ_BUCKET),
    incode: callRate(CallRecorder.between(bench.calls.incode, from, to)),
  };
}

/**
 * Starts the simulator, the gateway and a worker, configured through the environment like production.
 * `worker: 'process'` runs the worker as its own process (dist/src/worker.js) from the stack's environment,
 * so its memory and CPU are measured apart; otherwise it is embedded in this process (startLocalStack).
 */
async function startProduct(
  temporal: TemporalRef,
  logFile: string,
  options: { taskQueue: string; env?: Record<string, string>; worker?: 'embedded' | 'process' },
): Promise<Bench> {
  const ownProcess = options.worker === 'process';
  log(
    `product: starting simulator, gateway and ${ownProcess ? 'a worker process' : 'worker'} ` +
      `(task queue ${options.taskQueue}, LOG_LEVEL ${settings.logLevel}, logs ${logFile})`,
  );
  const logDestination = fs.createWriteStream(logFile);
  const stack = await startLocalStack({
    temporalAddress: temporal.address,
    taskQueue: options.taskQueue,
    gatewayPort: 0,
    directory: USERS,
    env: { ...BENCH_PRODUCT_DEFAULTS, ...passThroughEnv(), ...options.env, LOG_LEVEL: settings.logLevel },
    logLevel: settings.logLevel,
    logDestination,
    worker: !ownProcess,
    // These phases replay ARM's calls against its buckets afterwards; the scale-out phases have the simulator enforce them.
    armThrottling: false,
  });
  const stopStack = cleanupStep('product stack', async () => {
    await stack.stop();
    await new Promise<void>((resolve) => logDestination.end(resolve));
  });
  const workerConfig = loadWorkerConfig(stack.env);
  const limits: RateLimits = {
    sentinelPerSecond: workerConfig.sentinelActivitiesPerSecond ?? 0,
    incodePerSecond: workerConfig.incodeActivitiesPerSecond ?? 0,
  };
  log(
    `product: activity rate limits Sentinel ${limits.sentinelPerSecond || 'unlimited'}/s, Incode ` +
      `${limits.incodePerSecond || 'unlimited'}/s`,
  );
  let worker: WorkerProcess | undefined;
  let stopWorker: (() => Promise<void>) | undefined;
  if (ownProcess) {
    const workerLog = logFile.replace(/\.log$/, '') + '-worker.log';
    log(`product: starting the worker process (dist/src/worker.js, log ${workerLog})`);
    worker = await startWorkerProcess({
      // The stack's exact configuration; process.env carries NODE_EXTRA_CA_CERTS and the simulated managed
      // identity's endpoint (put there by startLocalStack). No schedule (stacks side by side would share its
      // id) and no metrics server (it would compete for 9464); info, for its "worker started" line.
      env: {
        ...withoutBenchVariables(process.env),
        ...stack.env,
        LOG_LEVEL: settings.logLevel === 'debug' || settings.logLevel === 'trace' ? settings.logLevel : 'info',
        SECRET_EXPIRY_SCHEDULE: 'false',
        WORKER_METRICS_PORT: '0',
        // E.g. --max-old-space-size=256: V8's heap limit (inherited by the workflow thread) sets how lazily it collects.
        ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
      },
      logFile: workerLog,
      readyTimeoutMs: 180_000,
    });
    const started = worker;
    stopWorker = cleanupStep('worker process', () => started.stop());
    log(`product: worker process ${worker.pid} started, RSS ${mb(worker.rss() ?? Number.NaN)}`);
  }
  const calls = new CallRecorder(stack.simulator.faults);
  const { client, connection }: { client: Client; connection: Connection } = await createTemporalClient(stack.gatewayConfig.temporal);
  const stopClient = cleanupStep('bench client', () => connection.close());
  return {
    stack,
    taskQueue: options.taskQueue,
    limits,
    calls,
    worker,
    client,
    temporal,
    async stop() {
      await stopClient();
      await stopWorker?.();
      await stopStack();
    },
  };
}

function withoutBenchVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('BENCH_')));
}

/**
 * Seeds incidents for distinct users (each added to the simulated Incode directory): the product joins a new
 * incident of a user whose verification is still waiting (VERIFICATION_JOIN_WINDOW), and the bench measures
 * separate verifications.
 */
const incidentEmails = new Map<string, string>();

function seedIncidents(bench: Bench, count: number, label: string): string[] {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const accountName = `bench.${label}.${index}`;
    const upnSuffix = 'contoso.com';
    bench.stack.simulator.incode.addDirectoryUser(`${accountName}@${upnSuffix}`);
    const incident = bench.stack.simulator.sentinel.seedIncident({
      title: `Impossible travel activity (bench ${label} ${index})`,
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    incidentEmails.set(incident.name, `${accountName}@${upnSuffix}`);
    ids.push(incident.name);
  }
  return ids;
}

interface PostResult {
  workflowId: string;
  interviewId: string;
  verificationUrl: string;
  postMs: number;
}

async function postIncident(bench: Bench, incidentId: string, timeoutMs = settings.opTimeoutMs): Promise<PostResult> {
  const begin = nowMs();
  const response = await fetch(`${bench.stack.gateway.url}/api/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': bench.stack.apiKey },
    body: JSON.stringify({ incidentId, severity: 'Medium', userEmail: incidentEmails.get(incidentId) ?? USERS[0] }),
    signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
  });
  const text = await response.text();
  const postMs = nowMs() - begin;
  let body: { status?: string; workflowId?: string; interviewId?: string; verificationUrl?: string; error?: { code?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // reported below
  }
  if (
    response.status !== 200 ||
    body.status !== 'verification_initiated' ||
    !body.workflowId ||
    !body.interviewId ||
    !body.verificationUrl
  ) {
    throw new Error(`POST /api/incidents answered ${response.status} ${body.error?.code ?? body.status ?? text.slice(0, 80)}`);
  }
  return { workflowId: body.workflowId, interviewId: body.interviewId, verificationUrl: body.verificationUrl, postMs };
}

/**
 * The whole path for one incident: POST → link, the user answers "This was me" on the confirmation page,
 * succeeds (Incode webhook) → read-back → Sentinel close.
 */
async function verifyOne(bench: Bench, incidentId: string, timeoutMs = settings.opTimeoutMs): Promise<VerificationSample> {
  const deadline = Date.now() + timeoutMs;
  const posted = await postIncident(bench, incidentId, timeoutMs);
  const confirmed = await answerConfirmationPage(posted.verificationUrl, 'was-me', {
    signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
  });
  if (confirmed.status !== 303) throw new Error(`the confirmation page answered ${confirmed.status} to "This was me"`);
  const completeStart = nowMs();
  const completion = await withTimeout(
    bench.stack.simulator.incode.completeSession(posted.interviewId, 'succeeded'),
    Math.max(1, deadline - Date.now()),
    'completeSession',
  );
  const webhookAckMs = nowMs() - completeStart;
  if (!completion.webhook.delivered) {
    throw new Error(`webhook not delivered (last status ${completion.webhook.lastStatus}, ${completion.webhook.attempts} attempts)`);
  }
  // Wait for the workflow to finish (a long poll on Temporal, no busy polling of the store), then take the
  // close time from the simulated Sentinel's audit log: the moment ARM accepted the write.
  const outcome = await bench.client.withDeadline(deadline, () =>
    bench.client.workflow.getHandle<typeof identityVerification>(posted.workflowId).result(),
  );
  const closing = bench.stack.simulator.sentinel.auditLog(incidentId).find((entry) => entry.changes.status?.to === 'Closed');
  if (!closing) throw new Error(`workflow ended ${(outcome as { status?: string })?.status ?? '?'} but the incident is not closed`);
  const closedAt = closing.at.getTime();
  return { workflowId: posted.workflowId, postMs: posted.postMs, webhookToUpdatedMs: closedAt - completeStart, webhookAckMs, closedAt };
}

/** Writes to ARM (incident PUTs and comment PUTs) recorded by the simulated Sentinel for these incidents. */
function armWriteTimes(bench: Bench, incidentIds: readonly string[]): number[] {
  const times: number[] = [];
  for (const id of incidentIds) {
    for (const entry of bench.stack.simulator.sentinel.auditLog(id)) {
      if (entry.actor === 'seed' || entry.actor === 'analyst') continue;
      times.push(entry.at.getTime());
    }
  }
  return times;
}

async function runFull(bench: Bench, baseline: BaselineResult | undefined, label: string): Promise<FullResult> {
  // Warm-up: token caches (managed identity, Incode OAuth, Key Vault settings), connections, workflow bundle.
  const warmup = seedIncidents(bench, Math.min(20, settings.n), 'warmup');
  await runPool(warmup.length, Math.min(10, settings.concurrency), Date.now() + settings.opTimeoutMs * 2, async (index) => {
    await verifyOne(bench, warmup[index]).catch((error) => log(`${label} warm-up: ${(error as Error).message}`));
  });

  const ids = seedIncidents(bench, settings.n, 'full');
  log(`${label}: ${settings.n} incidents, concurrency ${settings.concurrency}`);
  const errors = newErrors();
  const samples: VerificationSample[] = [];
  const meter = new PhaseMeter(bench.temporal.pid);
  const started = nowMs();
  const progress = setInterval(() => log(`${label}: ${samples.length}/${settings.n} closed, ${errors.count} errors`), 5_000);
  try {
    await runPool(ids.length, settings.concurrency, Date.now() + settings.opTimeoutMs * 5, async (index) => {
      try {
        samples.push(await verifyOne(bench, ids[index]));
      } catch (error) {
        recordError(errors, error);
      }
    });
  } finally {
    clearInterval(progress);
  }
  const usage = meter.stop();
  const lastClose = samples.reduce((latest, sample) => Math.max(latest, sample.closedAt), started);
  const elapsedMs = lastClose - started;
  const throughputPerSecond = round(samples.length / (elapsedMs / 1000));
  const result: FullResult = {
    taskQueue: bench.taskQueue,
    limits: bench.limits,
    n: settings.n,
    concurrency: settings.concurrency,
    closed: samples.length,
    errors,
    elapsedMs: Math.round(elapsedMs),
    throughputPerSecond,
    ...(baseline && baseline.throughputPerSecond > 0
      ? { ratioToBaseline: round(throughputPerSecond / baseline.throughputPerSecond, 3) }
      : {}),
    postToLinkMs: summarize(samples.map((sample) => sample.postMs)),
    webhookToUpdatedMs: summarize(samples.map((sample) => sample.webhookToUpdatedMs)),
    webhookAckMs: summarize(samples.map((sample) => sample.webhookAckMs)),
    calls: serviceCalls(bench, ids, started, nowMs()),
    history: samples[0] && (await historyProfile(bench.client, samples[0].workflowId)),
    usage,
  };
  log(
    `${label}: ${throughputPerSecond} incidents/s to closed (${samples.length}/${settings.n}, ${errors.count} errors); ` +
      `ARM writes peak ${result.calls.armWrites.peakPerSecond}/s, ${result.calls.armWrites.peak10sPerSecond}/s over 10 s, ` +
      `${result.calls.armWrites.wouldBeThrottled} would have been refused`,
  );
  return result;
}

async function runPacedPhase(bench: Bench, rate: number, seconds: number, label: string): Promise<PacedResultReport> {
  const offered = Math.floor(rate * seconds);
  const ids = seedIncidents(bench, offered, label);
  log(`${label}: ${rate} incidents/s for ${seconds} s (${offered} incidents, each given ${settings.pacedTimeoutMs / 1000} s)`);
  const errors = newErrors();
  const samples: VerificationSample[] = [];
  const meter = new PhaseMeter(bench.temporal.pid);
  const started = nowMs();
  const progress = setInterval(() => log(`${label}: ${samples.length}/${offered} closed, ${errors.count} errors`), 5_000);
  let paced;
  try {
    paced = await runPaced(rate, seconds * 1000, settings.maxInFlight, async (index) => {
      try {
        samples.push(await verifyOne(bench, ids[index], settings.pacedTimeoutMs));
      } catch (error) {
        recordError(errors, error);
      }
    });
  } finally {
    clearInterval(progress);
  }
  const usage = meter.stop();
  const result: PacedResultReport = {
    limits: bench.limits,
    ratePerSecond: rate,
    durationSeconds: seconds,
    offered,
    issued: paced.issued,
    skipped: paced.skipped,
    closed: samples.length,
    errors,
    achievedPerSecond: round(samples.length / (paced.elapsedMs / 1000)),
    maxStartLagMs: round(paced.maxStartLagMs),
    postToLinkMs: summarize(samples.map((sample) => sample.postMs)),
    webhookToUpdatedMs: summarize(samples.map((sample) => sample.webhookToUpdatedMs)),
    webhookAckMs: summarize(samples.map((sample) => sample.webhookAckMs)),
    calls: serviceCalls(bench, ids, started, nowMs()),
    usage,
  };
  log(`${label}: ${samples.length}/${offered} closed; webhook → incident updated ${latencyText(result.webhookToUpdatedMs)}`);
  // Whatever is still running (arrivals that timed out) must not load the next phase.
  const leftOver = await terminateRunning(bench);
  if (leftOver > 0) log(`${label}: terminated ${leftOver} verification(s) still running`);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  return result;
}

/** Events in one workflow's history, by type (e.g. activityTaskScheduled: 5): what each verification costs Temporal. */
interface HistoryProfile {
  workflowId: string;
  events: number;
  byType: Record<string, number>;
}

async function historyProfile(client: Client, workflowId: string): Promise<HistoryProfile | undefined> {
  try {
    const history = await client.withDeadline(Date.now() + 10_000, () => client.workflow.getHandle(workflowId).fetchHistory());
    const byType: Record<string, number> = {};
    for (const event of history.events ?? []) {
      const key = Object.keys(event).find((name) => name.endsWith('EventAttributes') && (event as Record<string, unknown>)[name]);
      const type = key ? key.replace(/EventAttributes$/, '') : 'unknown';
      byType[type] = (byType[type] ?? 0) + 1;
    }
    return { workflowId, events: history.events?.length ?? 0, byType };
  } catch (error) {
    log(`history of ${workflowId}: ${(error as Error).message}`);
    return undefined;
  }
}

function historyText(profile: HistoryProfile | undefined): string {
  if (!profile) return 'n/a';
  const pick = (type: string) => profile.byType[type] ?? 0;
  return (
    `${profile.events} events: ${pick('workflowTaskCompleted')} workflow tasks, ${pick('activityTaskScheduled')} activities, ` +
    `${pick('upsertWorkflowSearchAttributes')} search-attribute upserts, ${pick('workflowPropertiesModified')} property changes, ` +
    `${pick('workflowExecutionSignaled')} signals, ${pick('workflowExecutionUpdateAccepted')} updates, ${pick('timerStarted')} timers`
  );
}

async function postLatencies(bench: Bench, ids: readonly string[], concurrency: number, errors: LoadErrors): Promise<number[]> {
  const latencies: number[] = [];
  await runPool(ids.length, concurrency, Date.now() + settings.opTimeoutMs * 3, async (index) => {
    try {
      latencies.push((await postIncident(bench, ids[index])).postMs);
    } catch (error) {
      recordError(errors, error);
    }
  });
  return latencies;
}

async function runScale(bench: Bench): Promise<ScaleResult> {
  const extraErrors = newErrors();
  const workerPid = bench.worker?.pid;
  const workerRssAtReady = bench.worker?.rss();
  // Reference: the same extra starts on a system with (almost) nothing waiting.
  const idle = seedIncidents(bench, settings.extra, 'idle-extra');
  log(`scale: ${settings.extra} reference starts (concurrency ${settings.extraConcurrency}) before anything waits`);
  const idleLatencies = await postLatencies(bench, idle, settings.extraConcurrency, extraErrors);

  const memoryBeforeSeeding = memorySnapshot();
  const ids = seedIncidents(bench, settings.waiting, 'waiting');
  const waitingIds: string[] = [];
  const memoryBefore = memorySnapshot();
  const workerRssBefore = bench.worker?.rss();
  const temporalRssBefore = processRssBytes(bench.temporal.pid);
  const workerText = (rss: number | undefined) => (bench.worker ? `; worker process RSS ${mb(rss ?? Number.NaN)}` : '');
  log(
    `scale: starting ${settings.waiting} verifications through the gateway (concurrency ${settings.concurrency}); ` +
      `gateway+simulator RSS ${mb(memoryBefore.rss)}, heapUsed ${mb(memoryBefore.heapUsed)}${workerText(workerRssBefore)}`,
  );
  const errors = newErrors();
  const meter = new PhaseMeter(bench.temporal.pid, workerPid);
  const sampler = new RssSampler([process.pid, ...(workerPid !== undefined ? [workerPid] : [])]);
  const started = nowMs();
  const progress = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    log(
      `scale: ${waitingIds.length}/${settings.waiting} waiting, ${errors.count} errors, ` +
        `gateway+simulator RSS ${mb(rss)}, heapUsed ${mb(heapUsed)}${workerText(bench.worker?.rss())}`,
    );
  }, 10_000);
  let pool;
  try {
    pool = await runPool(ids.length, settings.concurrency, Date.now() + settings.scaleStartSeconds * 1000, async (index) => {
      try {
        await postIncident(bench, ids[index]);
        waitingIds.push(ids[index]);
      } catch (error) {
        recordError(errors, error);
      }
    });
  } finally {
    clearInterval(progress);
  }
  const startElapsedMs = nowMs() - started;
  if (pool.stoppedByDeadline)
    log(`scale: BENCH_SCALE_START_SECONDS (${settings.scaleStartSeconds} s) ran out after ${waitingIds.length} starts`);

  // After the link the workflow still writes its "verification requested" comment: let that finish so the
  // memory figure is of verifications that wait, not of a backlog of activities. With the Sentinel queue
  // limited to SENTINEL_RATE_LIMIT_PER_SECOND, a backlog drains at that rate: allow for it.
  const pendingComments = () =>
    waitingIds.filter((id) => (bench.stack.simulator.sentinel.getIncident(id)?.properties.additionalData.commentsCount ?? 0) < 1).length;
  const drainRate = bench.limits.sentinelPerSecond > 0 ? bench.limits.sentinelPerSecond * 0.8 : 20;
  // ... but leave time for the extra starts and terminating everything before the watchdog.
  const reserveMs = 120_000 + waitingIds.length * 15;
  const settleDeadline = Math.min(Date.now() + 120_000 + (pendingComments() / drainRate) * 1000, hardStopAt - reserveMs);
  let commentsPendingAtMeasurement: number;
  for (let lastLog = Date.now(); ;) {
    const pending = pendingComments();
    if (pending === 0 || Date.now() > settleDeadline) {
      if (pending > 0) log(`scale: ${pending} "requested" comments still pending when the settle time ran out`);
      commentsPendingAtMeasurement = pending;
      break;
    }
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      log(`scale: waiting for ${pending} "requested" comments (Sentinel queue ${bench.limits.sentinelPerSecond || 'unlimited'}/s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const memoryAfter = memorySnapshot();
  const workerRssAfter = bench.worker?.rss();
  const temporalRssAfter = processRssBytes(bench.temporal.pid);
  sampler.stop();
  log(
    `scale: ${waitingIds.length} waiting; gateway+simulator RSS ${mb(memoryAfter.rss)}, heapUsed ` +
      `${mb(memoryAfter.heapUsed)}${workerText(workerRssAfter)}`,
  );

  let runningAccordingToVisibility: number | undefined;
  try {
    runningAccordingToVisibility = Number(
      (await bench.client.workflow.count(`TaskQueue = '${bench.taskQueue}' AND ExecutionStatus = 'Running'`)).count,
    );
  } catch (error) {
    log(`scale: visibility count failed: ${(error as Error).message}`);
  }

  const extra = seedIncidents(bench, settings.extra, 'waiting-extra');
  log(`scale: ${settings.extra} more starts (concurrency ${settings.extraConcurrency}) while ${waitingIds.length} wait`);
  const waitingLatencies = await postLatencies(bench, extra, settings.extraConcurrency, extraErrors);
  const usage = meter.stop();
  const calls = serviceCalls(bench, [...waitingIds, ...extra], started, nowMs());
  const workerHighWaterMark = bench.worker?.peakRss();

  log('scale: terminating the waiting verifications');
  const terminateStarted = performance.now();
  const terminated = await terminateRunning(bench);
  const terminateSeconds = round((performance.now() - terminateStarted) / 1000);
  log(`scale: terminated ${terminated} in ${terminateSeconds} s`);

  return {
    limits: bench.limits,
    target: settings.waiting,
    started: waitingIds.length,
    stoppedByDeadline: pool.stoppedByDeadline,
    errors,
    startThroughputPerSecond: round(waitingIds.length / (startElapsedMs / 1000)),
    runningAccordingToVisibility,
    commentsPendingAtMeasurement,
    memoryBeforeSeeding,
    memoryBefore,
    memoryAfter,
    gatewayRssPeak: sampler.peak(process.pid),
    ...(workerPid !== undefined
      ? {
          worker: {
            pid: workerPid,
            rssAtReady: workerRssAtReady,
            rssBefore: workerRssBefore,
            rssAfter: workerRssAfter,
            rssPeakWhileStarting: sampler.peak(workerPid),
            rssHighWaterMark: workerHighWaterMark,
          },
        }
      : {}),
    temporalRssBefore,
    temporalRssAfter,
    startLatencyIdleMs: summarize(idleLatencies),
    startLatencyWhileWaitingMs: summarize(waitingLatencies),
    extraErrors,
    terminated,
    terminateSeconds,
    calls,
    usage,
  };
}

/**
 * Terminates every running workflow of the product's task queue. With the Temporal CLI's batch terminate
 * (BENCH_TERMINATE=cli) or, by default, by listing and terminating from the client with bounded concurrency.
 * Bounded in rounds and time; returns how many were terminated (client mode) or were running (cli mode).
 */
async function terminateRunning(bench: Bench): Promise<number> {
  const query = `TaskQueue = '${bench.taskQueue}' AND ExecutionStatus = 'Running'`;
  const deadline = Date.now() + 180_000;
  let terminated = 0;
  if (process.env.BENCH_TERMINATE === 'cli') {
    const before = Number((await bench.client.workflow.count(query)).count);
    const cli = await temporalCliPath();
    await promisify(execFile)(
      cli,
      [
        'workflow',
        'terminate',
        '--address',
        bench.temporal.address,
        '--namespace',
        bench.temporal.namespace,
        '--query',
        query,
        '--reason',
        'bench done',
        '--yes',
        '--rps',
        '1000',
      ],
      { timeout: 60_000 },
    );
    while (Date.now() < deadline && Number((await bench.client.workflow.count(query)).count) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    return before;
  }
  for (let round = 0; round < 5 && Date.now() < deadline; round++) {
    const ids: string[] = [];
    for await (const execution of bench.client.workflow.list({ query, pageSize: 1000 })) {
      ids.push(execution.workflowId);
      // Bounded: never more than the bench itself started.
      if (
        ids.length >=
        settings.waiting + settings.extra * 2 + settings.n + 20 + settings.rate * (settings.pacedSeconds + settings.sustainableSeconds)
      )
        break;
    }
    if (ids.length === 0) break;
    await runPool(ids.length, settings.concurrency, deadline, async (index) => {
      try {
        await bench.client.withDeadline(Date.now() + 10_000, () => bench.client.workflow.getHandle(ids[index]).terminate('bench done'));
        terminated += 1;
      } catch {
        // already closed, or visibility was behind: the next round sees it
      }
    });
    // Visibility is eventually consistent: give it a moment before looking again.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return terminated;
}

// ---------------------------------------------------------------------------------------------- report

function otherTemporalServers(ownPid: number): number {
  try {
    const out = execFileSync('pgrep', ['-f', 'temporal server start-dev'], { encoding: 'utf8' });
    return out.split('\n').filter((line) => line.trim() && Number(line) !== ownPid).length;
  } catch {
    return 0;
  }
}

function usageText(usage: PhaseUsage, items?: number): string {
  const perItem = (seconds: number | undefined) =>
    seconds !== undefined && items && items > 0 ? String(Math.round((seconds * 1000) / items)) : '?';
  const worker = usage.workerCpuSeconds !== undefined;
  const cpu = worker
    ? `CPU node ${usage.nodeCpuSeconds} s (gateway+simulator) + worker process ${usage.workerCpuSeconds} s + temporal ` +
      `${usage.temporalCpuSeconds ?? '?'} s`
    : `CPU node ${usage.nodeCpuSeconds} s + temporal ${usage.temporalCpuSeconds ?? '?'} s`;
  const per =
    items && items > 0
      ? ` = ${perItem(usage.nodeCpuSeconds)}${worker ? ` + ${perItem(usage.workerCpuSeconds)}` : ''} + ` +
        `${perItem(usage.temporalCpuSeconds)} ms per item`
      : '';
  return (
    `${usage.wallSeconds} s wall; ${cpu}${per}; event-loop delay p99 ${usage.eventLoopDelayMs.p99} ms (max ` +
    `${usage.eventLoopDelayMs.max} ms)`
  );
}

function callText(report: CallRateReport, unit: string): string {
  return (
    `peak ${report.peakPerSecond}/s in one second, ${report.peak10sPerSecond}/s over the busiest 10 s, mean ${report.meanPerSecond}/s, ` +
    `${report.calls} ${unit}` +
    (report.bucket
      ? `; a ${report.bucket.size}-token bucket refilling ${report.bucket.refillPerSecond}/s would have refused ` +
        `${report.wouldBeThrottled}` +
        (report.bucketEmptyAfterMs !== undefined ? ` (empty after ${round(report.bucketEmptyAfterMs / 1000)} s)` : '')
      : '')
  );
}

function limitsText(limits: RateLimits): string {
  const one = (perSecond: number) => (perSecond > 0 ? `${perSecond}/s` : 'unlimited');
  return `Sentinel activities ${one(limits.sentinelPerSecond)}, Incode activities ${one(limits.incodePerSecond)}`;
}

/** "on" when the Sentinel queue is limited (what holds the ARM writes), "off" otherwise. */
function limitsLabel(limits: RateLimits): string {
  return limits.sentinelPerSecond > 0 || limits.incodePerSecond > 0 ? 'limits on' : 'limits off';
}

/** ARM writes and reads replayed against ARM's buckets, and Incode calls. */
function serviceRows(name: string, calls: ServiceCalls, limits: RateLimits): TableRow[] {
  const limited = limits.sentinelPerSecond > 0;
  const verdict = (report: CallRateReport) => (!limited ? 'n/a (limits off)' : report.wouldBeThrottled === 0 ? 'met' : 'NOT met');
  return [
    {
      figure: `${name}: ARM writes`,
      value: callText(calls.armWrites, 'writes'),
      goal: '≤ 10/s sustained, burst 200',
      verdict: verdict(calls.armWrites),
    },
    {
      figure: `${name}: ARM reads`,
      value: callText(calls.armReads, 'reads'),
      goal: '≤ 25/s sustained, burst 250',
      verdict: verdict(calls.armReads),
    },
    {
      figure: `${name}: Incode API calls`,
      value: callText(calls.incode, 'calls'),
      goal: limits.incodePerSecond > 0 ? `none published; ≤ ${limits.incodePerSecond} activities/s` : 'none published',
    },
  ];
}

interface Results {
  baseline?: BaselineResult;
  /** The full path with the activity rate limits off: the product's own cost. */
  fullUnlimited?: FullResult;
  /** The full path with the activity rate limits on (production defaults unless overridden). */
  full?: FullResult;
  paced?: PacedResultReport;
  /** Paced at half the measured full-path throughput. */
  sustainable?: PacedResultReport;
  scale?: ScaleResult;
  scaleOut?: ScaleOutResult;
}

function pacedRows(name: string, paced: PacedResultReport, withGoal: boolean): TableRow[] {
  const met = paced.webhookToUpdatedMs.count > 0 && paced.errors.count === 0 && paced.webhookToUpdatedMs.p99 < 250;
  return [
    {
      figure: `${name}: ${paced.ratePerSecond} incidents/s for ${paced.durationSeconds} s`,
      value:
        `${paced.closed}/${paced.offered} closed, ${paced.achievedPerSecond}/s achieved` +
        (paced.skipped ? `, ${paced.skipped} skipped (in-flight cap)` : '') +
        (paced.errors.count ? `, ${paced.errors.count} errors/timeouts` : '') +
        `; worst start lag ${ms(paced.maxStartLagMs)}`,
    },
    { figure: `${name}: posted → link returned`, value: latencyText(paced.postToLinkMs) },
    {
      figure: `${name}: webhook → incident updated`,
      value: latencyText(paced.webhookToUpdatedMs),
      ...(withGoal
        ? { goal: 'p99 < 250 ms at 50/s', verdict: paced.ratePerSecond < 50 ? 'n/a (rate < 50/s)' : met ? 'met' : 'NOT met' }
        : {}),
    },
    { figure: `${name}: webhook → gateway 200`, value: latencyText(paced.webhookAckMs) },
    ...serviceRows(name, paced.calls, paced.limits),
    { figure: `${name}: resources`, value: usageText(paced.usage, paced.issued) },
  ];
}

function fullRows(full: FullResult): TableRow[] {
  const name = `full path [${limitsLabel(full.limits)}]`;
  const limited = full.limits.sentinelPerSecond > 0;
  const rows: TableRow[] = [
    { figure: `${name}: activity rate limits`, value: `${limitsText(full.limits)} (task queue ${full.taskQueue})` },
    {
      figure: `${name}: throughput to closed (N=${full.n}, c=${full.concurrency})`,
      value: `${full.throughputPerSecond} incidents/s` + (full.errors.count ? ` (${full.errors.count} errors)` : ''),
      ...(limited ? { goal: `≤ ${round(full.limits.sentinelPerSecond / 3, 2)}/s (3 ARM writes each)` } : {}),
    },
  ];
  if (full.ratioToBaseline !== undefined) {
    rows.push({
      figure: `${name} / baseline throughput`,
      value: `${round(full.ratioToBaseline * 100)} %`,
      ...(limited
        ? { goal: '(capped by the Sentinel queue)' }
        : { goal: '≥ 80 %', verdict: full.ratioToBaseline >= 0.8 ? 'met' : 'NOT met' }),
    });
  }
  rows.push({ figure: `${name}: posted → link returned`, value: latencyText(full.postToLinkMs) });
  rows.push({ figure: `${name}: webhook → incident updated`, value: latencyText(full.webhookToUpdatedMs) });
  rows.push({ figure: `${name}: webhook → gateway 200`, value: latencyText(full.webhookAckMs) });
  rows.push(...serviceRows(name, full.calls, full.limits));
  rows.push({ figure: `${name}: resources`, value: usageText(full.usage, full.closed) });
  return rows;
}

function buildRows(results: Results): TableRow[] {
  const rows: TableRow[] = [];
  const { baseline, fullUnlimited, full, paced, sustainable, scale } = results;
  if (baseline) {
    rows.push({
      figure: `baseline: bare workflow throughput (N=${baseline.n}, c=${baseline.concurrency})`,
      value: `${baseline.throughputPerSecond} workflows/s` + (baseline.errors.count ? ` (${baseline.errors.count} errors)` : ''),
    });
    rows.push({ figure: 'baseline: start → completed latency', value: latencyText(baseline.workflowLatencyMs) });
    rows.push({ figure: 'baseline: resources', value: usageText(baseline.usage, baseline.completed) });
  }
  if (fullUnlimited) rows.push(...fullRows(fullUnlimited));
  if (full) rows.push(...fullRows(full));
  if (paced) rows.push(...pacedRows(`paced [${limitsLabel(paced.limits)}]`, paced, true));
  if (sustainable)
    rows.push(...pacedRows(`paced at half the full path's throughput [${limitsLabel(sustainable.limits)}]`, sustainable, false));
  if (baseline?.history) rows.push({ figure: 'history of one baseline workflow', value: historyText(baseline.history) });
  const history = full?.history ?? fullUnlimited?.history;
  if (history) rows.push({ figure: 'history of one verification', value: historyText(history) });
  if (scale) rows.push(...scaleRows(scale));
  if (results.scaleOut) {
    const baselineCpu = baseline && baseline.completed > 0 ? round((baseline.usage.nodeCpuSeconds * 1000) / baseline.completed) : undefined;
    rows.push(...scaleOutRows(results.scaleOut, baselineCpu));
  }
  return rows;
}

function scaleRows(scale: ScaleResult): TableRow[] {
  const rows: TableRow[] = [];
  const goalMb = 600;
  const under = (bytes: number | undefined) => bytes !== undefined && bytes < goalMb * 1024 * 1024;
  // A POST answered 503 (link later than GATEWAY_LINK_DEADLINE) still started its verification: what was
  // running when the memory was read (the reference starts included) counts as waiting.
  const waiting = Math.max(scale.started, scale.runningAccordingToVisibility ?? 0);
  const verdict = (bytes: number | undefined) =>
    scale.target < 10_000 || waiting < 10_000 ? `n/a (${waiting} < 10,000 waiting)` : under(bytes) ? 'met' : 'NOT met';
  const mbOr = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : mb(bytes));
  rows.push({ figure: `scale [${limitsLabel(scale.limits)}]: activity rate limits`, value: limitsText(scale.limits) });
  rows.push({
    figure: `scale: verifications waiting (target ${scale.target})`,
    value:
      `${scale.started} started at ${scale.startThroughputPerSecond}/s` +
      (scale.runningAccordingToVisibility !== undefined ? `; ${scale.runningAccordingToVisibility} running per visibility` : '') +
      (scale.commentsPendingAtMeasurement
        ? `; ${scale.commentsPendingAtMeasurement} "requested" comments still queued when measured`
        : '') +
      (scale.errors.count ? `; ${scale.errors.count} errors` : ''),
  });
  const worker = scale.worker;
  if (worker) {
    rows.push({
      figure: 'scale: WORKER process RSS before → with W waiting',
      value:
        `${mbOr(worker.rssBefore)} → ${mbOr(worker.rssAfter)}` +
        (worker.rssBefore !== undefined && worker.rssAfter !== undefined ? ` (${signedMb(worker.rssAfter - worker.rssBefore)})` : ''),
      goal: `< ${goalMb} MB`,
      verdict: verdict(worker.rssAfter),
    });
    rows.push({
      figure: 'scale: WORKER process RSS peak while starting W (sampled every 1 s)',
      value:
        `${mbOr(worker.rssPeakWhileStarting)}; ${mbOr(worker.rssAtReady)} once started (workflow bundle built); high-water mark ` +
        `of its life ${mbOr(worker.rssHighWaterMark)}`,
      goal: `< ${goalMb} MB`,
      verdict: verdict(worker.rssPeakWhileStarting),
    });
    if (scale.started > 0 && worker.rssBefore !== undefined && worker.rssAfter !== undefined && worker.rssAfter > worker.rssBefore) {
      rows.push({
        figure: 'scale: WORKER RSS per waiting verification',
        value:
          `${round((worker.rssAfter - worker.rssBefore) / 1024 / scale.started)} KB (not linear: the worker caches at most ` +
          `WORKER_MAX_CACHED_WORKFLOWS)`,
      });
    }
  }
  const processName = worker ? 'gateway+simulator process' : 'process (simulator+worker+gateway)';
  rows.push({
    figure: `scale: ${processName} RSS before → with W waiting`,
    value:
      `${mb(scale.memoryBefore.rss)} → ${mb(scale.memoryAfter.rss)} (${signedMb(scale.memoryAfter.rss - scale.memoryBefore.rss)})` +
      (scale.gatewayRssPeak !== undefined ? `; peak ${mb(scale.gatewayRssPeak)}` : ''),
    ...(worker ? {} : { goal: `< ${goalMb} MB`, verdict: verdict(scale.memoryAfter.rss) }),
  });
  if (scale.memoryAtProcessStart && scale.memoryStackStarted) {
    rows.push({
      figure: `scale: ${processName} RSS at start → stack up`,
      value: `${mb(scale.memoryAtProcessStart.rss)} → ${mb(scale.memoryStackStarted.rss)}`,
    });
  }
  rows.push({
    figure: 'scale: seeding W incidents into the simulator (not product memory)',
    value:
      `RSS ${signedMb(scale.memoryBefore.rss - scale.memoryBeforeSeeding.rss)}, heapUsed ` +
      `${signedMb(scale.memoryBefore.heapUsed - scale.memoryBeforeSeeding.heapUsed)}`,
  });
  rows.push({
    figure: `scale: ${processName} main-thread heapUsed before → with W waiting (after GC)`,
    value:
      `${mb(scale.memoryBefore.heapUsed)} → ${mb(scale.memoryAfter.heapUsed)} ` +
      `(${signedMb(scale.memoryAfter.heapUsed - scale.memoryBefore.heapUsed)})`,
  });
  if (scale.temporalRssBefore !== undefined && scale.temporalRssAfter !== undefined) {
    rows.push({
      figure: 'scale: Temporal dev server RSS before → after',
      value: `${mb(scale.temporalRssBefore)} → ${mb(scale.temporalRssAfter)}`,
    });
  }
  rows.push({ figure: 'scale: start latency, nothing waiting (reference)', value: latencyText(scale.startLatencyIdleMs) });
  rows.push({ figure: `scale: start latency while ${scale.started} wait`, value: latencyText(scale.startLatencyWhileWaitingMs) });
  rows.push(...serviceRows('scale (starting W)', scale.calls, scale.limits));
  rows.push({ figure: 'scale: terminate all', value: `${scale.terminated} in ${scale.terminateSeconds} s` });
  rows.push({ figure: 'scale: resources (starting W + extra starts)', value: usageText(scale.usage, scale.started + settings.extra) });
  return rows;
}

// ---------------------------------------------------------------------------------------------- main

/** Resolves 'respawned' in the parent, which then only waits for its child's exit. */
async function main(): Promise<'done' | 'respawned'> {
  const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  // Node reads NODE_EXTRA_CA_CERTS only at start-up (as in tools/dev.ts): run again with it so the SDKs trust
  // the simulator, and with --expose-gc so heap figures are measured after a full collection.
  if (process.env.NODE_EXTRA_CA_CERTS !== certificates.caCertPath || !hasGc) {
    if (process.env.BENCH_RESPAWNED === '1') throw new Error('re-spawned bench still lacks NODE_EXTRA_CA_CERTS or --expose-gc');
    const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certificates.caCertPath, BENCH_RESPAWNED: '1' },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return 'respawned';
  }

  for (const phase of settings.phases) {
    if (!PHASES.includes(phase)) throw new Error(`BENCH_PHASES: unknown phase ${JSON.stringify(phase)} (known: ${PHASES.join(', ')})`);
  }
  // The SDK's own warnings (e.g. an activity completing after its workflow was terminated) go to stderr with
  // the progress, so stdout carries only the table.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      process.stderr.write(`[temporal ${entry.level}] ${entry.message}${entry.meta ? ` ${JSON.stringify(entry.meta)}` : ''}\n`);
    }),
    // Without `forward`, the core's own logs are printed straight to stdout.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  const watchdog = setTimeout(() => {
    log(`BENCH_MAX_SECONDS (${settings.maxSeconds} s) reached: stopping`);
    void cleanup().finally(() => process.exit(2));
  }, settings.maxSeconds * 1000);
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const resultsDir = path.join(packageRoot(), 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });

  const childPhase = process.env.BENCH_CHILD_PHASE;
  if (childPhase !== undefined) {
    if (childPhase !== 'scale' && childPhase !== 'full-unlimited' && childPhase !== 'scale-out')
      throw new Error(`BENCH_CHILD_PHASE: unknown ${JSON.stringify(childPhase)}`);
    await phaseChild(resultsDir, childPhase);
  } else {
    await orchestrate(resultsDir);
  }
  clearTimeout(watchdog);
  await cleanup();
  log('done');
  return 'done';
}

/**
 * A phase in a fresh process of its own (started by orchestrate()):
 * - scale, so its memory figures are those of a fresh simulator + gateway and not of everything the earlier
 *   phases left behind; the worker runs in yet another process (dist/src/worker.js), started from here, so its
 *   memory is measured apart;
 * - full-unlimited, because a second product stack cannot follow the first in one process: the Azure SDK's
 *   managed identity keeps the first simulator's endpoint for the life of the process.
 */
async function phaseChild(resultsDir: string, phase: ChildPhase): Promise<void> {
  const resultFile = process.env.BENCH_RESULT_FILE;
  const temporal: TemporalRef = {
    address: process.env.BENCH_TEMPORAL_ADDRESS ?? '',
    namespace: process.env.BENCH_TEMPORAL_NAMESPACE ?? 'default',
    pid: Number(process.env.BENCH_TEMPORAL_PID),
  };
  if (!resultFile || !temporal.address || !Number.isInteger(temporal.pid))
    throw new Error(`${phase} process: BENCH_RESULT_FILE, BENCH_TEMPORAL_ADDRESS and BENCH_TEMPORAL_PID are required`);
  if (phase === 'scale-out') {
    const result = await runScaleOut(
      {
        temporalAddress: temporal.address,
        temporalPid: temporal.pid,
        taskQueue: PRODUCT_QUEUES.scaleOut,
        logFile: path.join(resultsDir, 'stack-scale-out.log'),
      },
      {
        phases: SCALE_OUT_PHASES.filter((name) => settings.phases.includes(name)),
        subscriptionCounts: settings.subscriptionCounts,
        incidentsPerSubscription: settings.incidentsPerSubscription,
        maxIncidents: settings.scaleOutMaxIncidents,
        concurrency: settings.concurrency,
        warmUpIncidents: settings.scaleOutWarmUp,
        replicaIncidents: settings.replicaIncidents,
        quietRate: settings.quietRate,
        noisyFactor: settings.noisyFactor,
        noisySeconds: settings.noisySeconds,
        opTimeoutMs: settings.opTimeoutMs,
        productEnv: { ...BENCH_PRODUCT_DEFAULTS, ...passThroughEnv() },
        logLevel: settings.logLevel,
        log,
      },
    );
    fs.writeFileSync(resultFile, JSON.stringify(result));
    return;
  }
  if (phase === 'full-unlimited') {
    const bench = await startProduct(temporal, path.join(resultsDir, 'stack-unlimited.log'), {
      taskQueue: PRODUCT_QUEUES.unlimited,
      env: LIMITS_OFF,
    });
    const full = await runFull(bench, undefined, `full path [${limitsLabel(bench.limits)}]`);
    const leftOver = await terminateRunning(bench);
    if (leftOver > 0) log(`terminated ${leftOver} verification(s) still running`);
    fs.writeFileSync(resultFile, JSON.stringify(full));
    await bench.stop();
    return;
  }
  const memoryAtStart = memorySnapshot();
  const bench = await startProduct(temporal, path.join(resultsDir, 'stack-scale.log'), {
    taskQueue: PRODUCT_QUEUES.scale,
    worker: 'process',
  });
  const memoryStackStarted = memorySnapshot();
  const scale = await runScale(bench);
  fs.writeFileSync(resultFile, JSON.stringify({ ...scale, memoryAtProcessStart: memoryAtStart, memoryStackStarted }));
  await bench.stop();
}

type ChildPhase = 'scale' | 'full-unlimited' | 'scale-out';

function runPhaseChild<T>(temporal: TemporalDevServer, resultsDir: string, phase: ChildPhase): Promise<T> {
  const resultFile = path.join(resultsDir, `.${phase}-${process.pid}.json`);
  const remaining = Math.floor(settings.maxSeconds - (performance.now() - benchStarted) / 1000 - 30);
  if (remaining < 60) throw new Error(`not enough of BENCH_MAX_SECONDS left for the ${phase} phase`);
  log(
    phase === 'scale'
      ? 'scale: running in a fresh process (gateway + simulator), with the worker in a process of its own'
      : `${phase}: running in a fresh process`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv.filter((arg) => arg !== '--expose-gc'), __filename], {
      stdio: 'inherit',
      env: {
        ...process.env,
        BENCH_CHILD_PHASE: phase,
        // The scale-out process runs the scale-out phases that were asked for.
        BENCH_PHASES: phase === 'scale-out' ? SCALE_OUT_PHASES.filter((name) => settings.phases.includes(name)).join(',') : phase,
        BENCH_TEMPORAL_ADDRESS: temporal.address,
        BENCH_TEMPORAL_NAMESPACE: temporal.namespace,
        BENCH_TEMPORAL_PID: String(temporal.pid),
        BENCH_RESULT_FILE: resultFile,
        BENCH_T0: String(Math.round(performance.timeOrigin + benchStarted)),
        BENCH_MAX_SECONDS: String(remaining),
      },
    });
    const stopChild = cleanupStep(`${phase} process`, async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((done) => child.once('exit', done));
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      void stopChild();
      try {
        if (code !== 0) throw new Error(`${phase} process ended with ${signal ?? `exit code ${code}`}`);
        resolve(JSON.parse(fs.readFileSync(resultFile, 'utf8')) as T);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        fs.rmSync(resultFile, { force: true });
      }
    });
  });
}

async function orchestrate(resultsDir: string): Promise<void> {
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  log(`settings ${JSON.stringify(settings)}`);
  log('starting a Temporal dev server (headless, in memory, free port)');
  const temporal = await startTemporalDevServer({ headless: true });
  cleanupStep('Temporal dev server', () => temporal.stop());
  log(`Temporal dev server ${temporal.address} (pid ${temporal.pid}, log ${temporal.logFile})`);
  const others = otherTemporalServers(temporal.pid);
  if (others > 0) log(`note: ${others} other Temporal dev server(s) run on this machine and share its CPUs`);

  const results: Results = {};
  if (settings.phases.includes('baseline')) results.baseline = await runBaseline(temporal);

  // The product's own cost first (limits off), right after the baseline it is compared with.
  if (settings.phases.includes('full-unlimited')) {
    const full = await runPhaseChild<FullResult>(temporal, resultsDir, 'full-unlimited');
    const baselineRate = results.baseline?.throughputPerSecond ?? 0;
    results.fullUnlimited = {
      ...full,
      ...(baselineRate > 0 ? { ratioToBaseline: round(full.throughputPerSecond / baselineRate, 3) } : {}),
    };
  }
  // Then what production does: the activity rate limits on (the product's defaults unless overridden).
  if (settings.phases.some((phase) => phase === 'full' || phase === 'paced')) {
    const bench = await startProduct(temporal, path.join(resultsDir, 'stack.log'), { taskQueue: PRODUCT_QUEUES.limited });
    if (settings.phases.includes('full')) results.full = await runFull(bench, results.baseline, `full path [${limitsLabel(bench.limits)}]`);
    if (settings.phases.includes('paced')) {
      // The rate the machine sustains first, then the overload: verifications an overloaded run leaves on the
      // rate-limited queues (terminated, their tasks still queued) must not delay the half-rate run.
      const halfRate = Math.floor((results.full?.throughputPerSecond ?? results.fullUnlimited?.throughputPerSecond ?? 0) / 2);
      if (settings.sustainableSeconds > 0 && halfRate >= 1) {
        results.sustainable = await runPacedPhase(bench, halfRate, settings.sustainableSeconds, 'paced-half');
      }
      results.paced = await runPacedPhase(bench, settings.rate, settings.pacedSeconds, 'paced');
    }
    const leftOver = await terminateRunning(bench);
    if (leftOver > 0) log(`terminated ${leftOver} verification(s) still running`);
    await bench.stop();
  }
  if (settings.phases.includes('scale') && settings.waiting > 0)
    results.scale = await runPhaseChild<ScaleResult>(temporal, resultsDir, 'scale');
  if (SCALE_OUT_PHASES.some((name) => settings.phases.includes(name)))
    results.scaleOut = await runPhaseChild<ScaleOutResult>(temporal, resultsDir, 'scale-out');

  const rows = buildRows(results);
  const report = {
    date: startedAt.toISOString(),
    durationSeconds: round((performance.now() - benchStarted) / 1000),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      totalMemoryBytes: os.totalmem(),
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg(),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      otherTemporalDevServers: others,
    },
    settings: {
      ...settings,
      taskQueues: { baseline: BASELINE_QUEUE, product: PRODUCT_QUEUES },
      productEnvLimitsOff: LIMITS_OFF,
      productEnv: { ...BENCH_PRODUCT_DEFAULTS, ...passThroughEnv(), LOG_LEVEL: settings.logLevel },
    },
    ...results,
    goals: {
      fullOverBaselineAtLeast: 0.8,
      webhookToUpdatedP99BelowMsAt50PerSecond: 250,
      waitingVerifications: 10_000,
      workerRssBelowBytes: 600 * 1024 * 1024,
    },
    table: rows,
  };
  const file = path.join(resultsDir, 'latest.json');
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  process.stdout.write(
    `\nitdr-verify bench — ${startedAt.toISOString()} — ${os.cpus().length} CPUs, ${mb(os.totalmem())}, Node ${process.version}, ` +
      `load average at start ${loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n\n`);
  for (const [name, result] of Object.entries(results) as Array<[string, { errors?: LoadErrors; extraErrors?: LoadErrors }]>) {
    const errors = [result.errors, result.extraErrors].filter((e): e is LoadErrors => Boolean(e && e.count));
    for (const e of errors) process.stdout.write(`${name}: ${e.count} errors, e.g. ${e.samples.join(' | ')}\n`);
  }
  process.stdout.write(`JSON: ${path.relative(process.cwd(), file)}\n`);
  log('stopping');
}

main().then(
  (how) => {
    if (how === 'done') process.exit(0);
  },
  async (error: unknown) => {
    log(`failed: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
    await cleanup();
    process.exit(1);
  },
);

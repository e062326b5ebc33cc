import {
  NativeConnection,
  Worker,
  type ActivityInterceptorsFactory,
  type InjectedSinks,
  type State,
  type WorkerOptions,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { TemporalConfig } from '../config/temporal';
import type { WorkerConfig } from '../config/worker';
import {
  INCODE_ACTIVITY_NAMES,
  SENTINEL_ACTIVITY_NAMES,
  incodeTaskQueue,
  sentinelTaskQueue,
  sharedSentinelTaskQueue,
} from '../shared/task-queues';
import { connectionOptionsFor, dataConverterFor } from '../temporal/connection';
import type { VerificationActivities } from '../activities';
import type { WorkerMetrics } from '../observability/metrics';
import type { Readiness } from '../observability/metrics-server';
import type { Tracing } from '../observability/tracing';
import type { VerificationMetricsSinks } from './workflow-metrics-interceptor';

export interface WorkerTuning {
  maxCachedWorkflows: number;
  maxConcurrentActivities: number;
  /** The subscriptions whose Sentinel queue this worker polls (SENTINEL_SUBSCRIPTION_ID, SENTINEL_ALLOWED_WORKSPACES). */
  sentinelSubscriptions: readonly string[];
  /** Server-enforced dispatch rate of each Sentinel queue / of the Incode queue; undefined or 0 = unlimited. */
  sentinelActivitiesPerSecond?: number;
  incodeActivitiesPerSecond?: number;
}

/**
 * Activity slots and pollers of each Sentinel queue: a queue serves at most its rate limit per second (10 by
 * default) of calls that take a few hundred milliseconds, so a few slots keep up, and a worker serving forty
 * subscriptions does not hold forty times the main queue's slots and long polls.
 */
const SENTINEL_QUEUE_SLOTS = 10;
const SENTINEL_QUEUE_POLLERS = 2;

export function workerTuningFrom(config: WorkerConfig): WorkerTuning {
  return {
    maxCachedWorkflows: config.maxCachedWorkflows,
    maxConcurrentActivities: config.maxConcurrentActivities,
    sentinelSubscriptions: config.sentinelSubscriptions,
    sentinelActivitiesPerSecond: config.sentinelActivitiesPerSecond,
    incodeActivitiesPerSecond: config.incodeActivitiesPerSecond,
  };
}

/**
 * The workers of one process, run and stopped together: the workflow worker on the main task queue and
 * one activity worker per rate-limited service queue (src/shared/task-queues.ts).
 */
export interface VerificationWorker {
  run(): Promise<void>;
  /** Stops every worker that still runs; safe to call more than once. */
  shutdown(): void;
  /** RUNNING only while every worker polls; otherwise the state of the first one that does not. */
  getState(): State;
}

/** Metrics and tracing of a worker; both optional. */
export interface WorkerObservability {
  /** Counts outcomes (through the workflow interceptor's sink) and time to verify. */
  metrics?: WorkerMetrics;
  /** Traces workflows and activities, continuing the trace the gateway's client started. */
  tracing?: Tracing;
}

/**
 * The workflow interceptor modules a verification worker runs with. Bundled from `workflowsPath`, the
 * worker adds them itself; a prebuilt `workflowBundle` must have been made with them
 * (`bundleWorkflowCode({ workflowInterceptorModules })`), or the outcomes are not counted / not traced.
 */
export function workflowInterceptorModules(options: { metrics: boolean; tracing: boolean }): string[] {
  return [
    ...(options.metrics ? [require.resolve('./workflow-metrics-interceptor')] : []),
    ...(options.tracing ? [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')] : []),
  ];
}

export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  const options = await connectionOptionsFor(config);
  return NativeConnection.connect({
    address: options.address,
    tls: options.tls,
    apiKey: typeof options.apiKey === 'string' ? options.apiKey : undefined,
    metadata: options.metadata as Record<string, string> | undefined,
  });
}

/**
 * The verification workers. Cache and concurrency are bounded because a cached workflow costs about 0.4 MB
 * and thousands of verifications can wait at once. Workflow code comes from a prebuilt bundle in tests,
 * or is bundled from `src/workflows` at start-up.
 *
 * The main worker also serves the Sentinel and Incode activities on the main queue: workflows that
 * scheduled them there before the queues were split must still find a worker for them. Likewise the shared
 * Sentinel queue of the versions before the queue per subscription.
 */
export async function createVerificationWorker(options: {
  connection: NativeConnection;
  temporal: TemporalConfig;
  activities: VerificationActivities;
  tuning: WorkerTuning;
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  observability?: WorkerObservability;
}): Promise<VerificationWorker> {
  const { metrics, tracing } = options.observability ?? {};
  const main = await Worker.create({
    connection: options.connection,
    namespace: options.temporal.namespace,
    taskQueue: options.temporal.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: options.activities,
    ...(await observabilityOptions(metrics, tracing, !options.workflowBundle)),
    dataConverter: dataConverterFor(options.temporal),
    maxCachedWorkflows: options.tuning.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: options.tuning.maxConcurrentActivities,
    // An HTTP call that hangs must not keep the worker from stopping.
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
  });
  const queue = options.temporal.taskQueue;
  const sentinelQueue = (taskQueue: string) => ({
    taskQueue,
    names: SENTINEL_ACTIVITY_NAMES,
    perSecond: options.tuning.sentinelActivitiesPerSecond,
    slots: Math.min(SENTINEL_QUEUE_SLOTS, options.tuning.maxConcurrentActivities),
    pollers: SENTINEL_QUEUE_POLLERS,
  });
  const serviceQueues = [
    // One per subscription: ARM's write budget is per subscription and principal (docs/scaling.md).
    ...[...new Set(options.tuning.sentinelSubscriptions.map((id) => id.toLowerCase()))].map((id) =>
      sentinelQueue(sentinelTaskQueue(queue, id)),
    ),
    // Activities scheduled before the queue per subscription existed; empty once those workflows have moved on.
    sentinelQueue(sharedSentinelTaskQueue(queue)),
    {
      taskQueue: incodeTaskQueue(queue),
      names: INCODE_ACTIVITY_NAMES,
      perSecond: options.tuning.incodeActivitiesPerSecond,
      slots: options.tuning.maxConcurrentActivities,
      pollers: undefined,
    },
  ];
  const workers = [main];
  for (const service of serviceQueues) {
    const activities = pick(options.activities, service.names);
    if (Object.keys(activities).length === 0) continue;
    workers.push(
      await Worker.create({
        connection: options.connection,
        namespace: options.temporal.namespace,
        taskQueue: service.taskQueue,
        ...(options.identity ? { identity: options.identity } : {}),
        activities,
        ...(tracing ? { interceptors: { activity: [await activityTracing()] } } : {}),
        dataConverter: dataConverterFor(options.temporal),
        maxConcurrentActivityTaskExecutions: service.slots,
        ...(service.pollers ? { maxConcurrentActivityTaskPolls: service.pollers } : {}),
        ...(service.perSecond ? { maxTaskQueueActivitiesPerSecond: service.perSecond } : {}),
        shutdownGraceTime: '10s',
        shutdownForceTime: '30s',
      }),
    );
  }
  return combine(workers);
}

function pick(activities: object, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(
    names.filter((name) => name in activities).map((name) => [name, (activities as Record<string, unknown>)[name]]),
  );
}

function combine(workers: Worker[]): VerificationWorker {
  const shutdown = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  return {
    async run() {
      // One worker failing stops the others: a process that runs workflows but no longer writes to
      // Sentinel must not look healthy.
      const runs = workers.map((worker) =>
        worker.run().catch((error: unknown) => {
          shutdown();
          throw error;
        }),
      );
      const results = await Promise.allSettled(runs);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
    getState: () => workers.map((worker) => worker.getState()).find((state) => state !== 'RUNNING') ?? 'RUNNING',
  };
}

/** Interceptors and sinks for metrics and tracing; workflow modules only when the worker bundles the code itself. */
async function observabilityOptions(
  metrics: WorkerMetrics | undefined,
  tracing: Tracing | undefined,
  bundlesWorkflowCode: boolean,
): Promise<Pick<WorkerOptions, 'interceptors' | 'sinks'>> {
  const sinks: InjectedSinks<VerificationMetricsSinks> | undefined = metrics && {
    itdrMetrics: {
      workflowEnded: { fn: (info, report) => metrics.recordOutcome(report, new Date(info.startTime)), callDuringReplay: false },
    },
  };
  const workflowModules = bundlesWorkflowCode ? workflowInterceptorModules({ metrics: Boolean(metrics), tracing: Boolean(tracing) }) : [];
  if (!tracing) return { interceptors: { workflowModules }, ...(sinks ? { sinks } : {}) };
  const otel = await import('@temporalio/interceptors-opentelemetry');
  return {
    interceptors: { workflowModules, activity: [await activityTracing()] },
    sinks: { ...sinks, exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

async function activityTracing(): Promise<ActivityInterceptorsFactory> {
  const otel = await import('@temporalio/interceptors-opentelemetry');
  return (ctx) => ({
    inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
    outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
  });
}

/** The worker's /readyz: ready while it polls (state RUNNING); not before `run()`, nor while it stops. */
export function workerReadiness(worker: Pick<VerificationWorker, 'getState'>): Readiness {
  const state = worker.getState();
  return { ready: state === 'RUNNING', detail: { workerState: state } };
}

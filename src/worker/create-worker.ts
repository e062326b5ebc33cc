import { NativeConnection, Worker, type InjectedSinks, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { TemporalConfig } from '../config/config';
import { connectionOptionsFor, dataConverterFor } from '../temporal/connection';
import type { VerificationActivities } from '../activities';
import type { WorkerMetrics } from '../observability/metrics';
import type { Readiness } from '../observability/metrics-server';
import type { Tracing } from '../observability/tracing';
import type { VerificationMetricsSinks } from './workflow-metrics-interceptor';

export interface WorkerTuning {
  maxCachedWorkflows: number;
  maxConcurrentActivities: number;
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
 * The verification worker. Cache and concurrency are bounded because a cached workflow costs about 1 MB
 * and thousands of verifications can wait at once. Workflow code comes from a prebuilt bundle in tests,
 * or is bundled from `src/workflows` at start-up.
 */
export async function createVerificationWorker(options: {
  connection: NativeConnection;
  temporal: TemporalConfig;
  activities: VerificationActivities;
  tuning: WorkerTuning;
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  observability?: WorkerObservability;
}): Promise<Worker> {
  const { metrics, tracing } = options.observability ?? {};
  return Worker.create({
    connection: options.connection,
    namespace: options.temporal.namespace,
    taskQueue: options.temporal.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: options.activities,
    ...(await observabilityOptions(metrics, tracing, !options.workflowBundle)),
    dataConverter: dataConverterFor(options.temporal),
    maxCachedWorkflows: options.tuning.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: options.tuning.maxConcurrentActivities,
    // An HTTP call that hangs must not keep the worker from stopping.
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
  });
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
    interceptors: {
      workflowModules,
      activity: [
        (ctx) => ({
          inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { ...sinks, exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

/** The worker's /readyz: ready while it polls (state RUNNING); not before `run()`, nor while it stops. */
export function workerReadiness(worker: Pick<Worker, 'getState'>): Readiness {
  const state = worker.getState();
  return { ready: state === 'RUNNING', detail: { workerState: state } };
}

import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { TemporalConfig } from '../config/config';
import { connectionOptionsFor, dataConverterFor } from '../temporal/connection';
import type { VerificationActivities } from '../activities';

export interface WorkerTuning {
  maxCachedWorkflows: number;
  maxConcurrentActivities: number;
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
export function createVerificationWorker(options: {
  connection: NativeConnection;
  temporal: TemporalConfig;
  activities: VerificationActivities;
  tuning: WorkerTuning;
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
}): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.temporal.namespace,
    taskQueue: options.temporal.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: options.activities,
    dataConverter: dataConverterFor(options.temporal),
    maxCachedWorkflows: options.tuning.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: options.tuning.maxConcurrentActivities,
    // An HTTP call that hangs must not keep the worker from stopping.
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
  });
}

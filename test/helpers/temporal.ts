import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TemporalConfig } from '../../src/config/temporal';
import { dataConverterFor } from '../../src/temporal/connection';

/**
 * Tests run against the one real Temporal dev server that scripts/run-tests.mjs starts; it hands us its
 * address. Each test file uses its own task queue, so files can run in parallel.
 */
export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test` (scripts/run-tests.mjs)');
  return address;
}

let runtimeInstalled = false;
/** Quiet the worker's own logging to warnings so test output stays readable. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export function testTemporalConfig(taskQueuePrefix: string): TemporalConfig {
  return {
    address: temporalAddress(),
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: `${taskQueuePrefix}-${randomUUID().slice(0, 8)}`,
    payloadKey: { id: 'test', key: randomBytes(32) },
  };
}

export interface TemporalTestContext {
  config: TemporalConfig;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  bundle: WorkflowBundleWithSourceMap;
  close(): Promise<void>;
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();
/**
 * Bundling takes seconds: once per test file (each file is its own process) and set of workflow interceptor
 * modules (the worker of the local stack runs with `workflowInterceptorModules(...)` from create-worker).
 */
export function workflowBundle(interceptorModules: readonly string[] = []): Promise<WorkflowBundleWithSourceMap> {
  const key = interceptorModules.join('\n');
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      workflowInterceptorModules: [...interceptorModules],
      logger: new DefaultLogger('WARN'),
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

export async function connectTemporal(
  taskQueuePrefix: string,
  options: { interceptorModules?: readonly string[] } = {},
): Promise<TemporalTestContext> {
  installQuietRuntime();
  const config = testTemporalConfig(taskQueuePrefix);
  const connection = await Connection.connect({ address: config.address });
  const nativeConnection = await NativeConnection.connect({ address: config.address });
  const client = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config) });
  return {
    config,
    client,
    connection,
    nativeConnection,
    bundle: await workflowBundle(options.interceptorModules),
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** Polls until `check` returns a value (visibility and webhooks are asynchronous). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/**
 * A verification worker as its own process, for the chaos test (which SIGKILLs it). Built like src/worker.ts:
 * the configuration comes from the environment (TEMPORAL_*, AZURE_*, ARM_ENDPOINT, IDENTITY_ENDPOINT, ...,
 * NODE_EXTRA_CA_CERTS for the simulator's CA). CHAOS_WORKFLOW_BUNDLE names a prebuilt workflow bundle
 * (bundled once by the runner, with the production interceptor modules) so a restart takes a second, not ten.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadWorkerConfig } from '../../src/config/worker';
import { createWorkerFromConfig } from '../../src/worker/from-config';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const config = loadWorkerConfig();
  const bundlePath = process.env.CHAOS_WORKFLOW_BUNDLE;
  const { worker, connection } = await createWorkerFromConfig(config, {
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    identity: `chaos-worker-${process.pid}`,
  });
  process.once('SIGTERM', () => worker.shutdown());
  // The runner holds our stdin open: if it dies (even by SIGKILL), stop instead of lingering as an orphan.
  process.stdin.on('end', () => process.exit(1)).resume();
  // The runner waits for this line before it counts the worker as up.
  process.stdout.write('chaos-worker ready\n');
  await worker.run();
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos worker failed: ${error instanceof Error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});

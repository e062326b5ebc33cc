import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalStack, type LocalStackWithoutWorker } from '../../tools/dev/local-stack';
import type { TiSyncResult, TiSyncSettings } from '../../src/shared/ti-sync';
import { workflowInterceptorModules } from '../../src/worker/create-worker';
import { connectTemporal, eventually, temporalAddress } from '../helpers/temporal';
import { creationsByValue, heldBy, ipRows, seedFeed, stackSync, TI_FEED } from '../helpers/ti-sync';

const WORKER_SCRIPT = path.join(__dirname, '..', 'chaos', 'worker-process.js');

/** A worker in its own process (the chaos test's), configured from the stack's environment only. */
async function startWorkerProcess(env: Record<string, string>, bundlePath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER_SCRIPT], {
    env: { ...process.env, ...env, CHAOS_WORKFLOW_BUNDLE: bundlePath },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('chaos-worker ready')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${output}`)));
  });
  return child;
}

/** The sync's worker is SIGKILLed in the middle of a run: the run resumes on a new worker, nothing is made twice or lost. */
describe('threat-intelligence sync: worker killed mid-run', () => {
  let stack: LocalStackWithoutWorker;
  let settings: TiSyncSettings;
  let bundleDir: string;
  let bundlePath: string;
  const workers: ChildProcess[] = [];

  before(async () => {
    const temporal = await connectTemporal('ti-kill', {
      interceptorModules: workflowInterceptorModules({ metrics: true, tracing: false }),
    });
    await temporal.close();
    bundleDir = mkdtempSync(path.join(os.tmpdir(), 'ti-kill-'));
    bundlePath = path.join(bundleDir, 'workflow-bundle.js');
    writeFileSync(bundlePath, temporal.bundle.code);
    stack = await startLocalStack({
      temporalAddress: temporalAddress(),
      taskQueue: temporal.config.taskQueue,
      directory: [],
      worker: false,
      env: { TI_SYNC_FEEDS: TI_FEED, TI_SYNC_ACTION: 'Block' },
    });
    settings = stackSync(stack.env);
  });
  after(async () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await stack?.stop();
    rmSync(bundleDir, { recursive: true, force: true });
  });

  it('resumes the batch it was applying on another worker: every indicator once, none missing', async () => {
    const rows = ipRows(2_300, '10.110');
    seedFeed(stack.simulator, rows);
    // ours from an earlier run, gone from the feed: to be deleted
    for (let index = 1; index <= 3; index += 1) {
      stack.simulator.defender.seed({
        indicatorValue: `10.119.0.${index}`,
        indicatorType: 'IpAddress',
        action: 'Block',
        title: 't',
        description: 'd',
        application: settings.application,
      });
    }
    // Imports take a while, so the kill lands while one is in flight.
    const slowImports = stack.simulator.faults.add({ service: 'defender', pathIncludes: '/indicators/import', delayMs: 1_500, times: 100 });

    workers.push(await startWorkerProcess(stack.env, bundlePath));
    const handle = await stack.client.workflow.start('tiSync', {
      taskQueue: stack.env.TEMPORAL_TASK_QUEUE,
      workflowId: `ti-sync-kill-${Date.now()}`,
      args: [{ settings }],
    });
    await eventually(
      async () => stack.simulator.defender.audit.filter((entry) => entry.operation === 'create').length >= 1_000 || undefined,
      60_000,
      'two import batches applied',
    );
    // Kill while the next import is held in the simulator (1.5 s), not between two batches.
    const importsSeen = slowImports.hits;
    await eventually(async () => slowImports.hits > importsSeen || undefined, 60_000, 'the next import batch in flight');
    workers[0].kill('SIGKILL');
    await new Promise((resolve) => workers[0].once('exit', resolve));
    const createdBeforeKill = stack.simulator.defender.audit.filter((entry) => entry.operation === 'create').length;
    assert.ok(createdBeforeKill < 2_300, `the kill came mid-run (${createdBeforeKill} created)`);

    workers.push(await startWorkerProcess(stack.env, bundlePath));
    const result: TiSyncResult = await handle.result();
    assert.equal(result.outcome, 'complete');
    const held = heldBy(stack.simulator, settings.application);
    assert.equal(held.length, 2_300, 'nothing lost');
    assert.deepEqual(held, rows.map((row) => `IpAddress:${row.ObservableValue}`).sort());
    const duplicates = [...creationsByValue(stack.simulator)].filter(([, count]) => count > 1);
    assert.deepEqual(duplicates, [], 'no indicator created twice');
    assert.equal(stack.simulator.defender.list().length, 2_300, 'the stale ones deleted, no extra');

    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).filter(
      (event) => event.activityTaskStartedEventAttributes?.attempt && event.activityTaskStartedEventAttributes.attempt > 1,
    );
    assert.ok(attempts.length >= 1, 'the batch in flight was retried after the kill');
  });
});

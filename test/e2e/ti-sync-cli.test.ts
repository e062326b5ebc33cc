import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tiSyncScheduleId } from '../../src/worker/ti-sync-schedule';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/temporal';
import { heldBy, mixedRows, seedFeed, stackSync, TI_FEED } from '../helpers/ti-sync';

const root = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(root, 'dist', 'src', 'cli.js');

/** `itdr-verify ti-sync run|dry-run|status` as an operator runs it, against the stack's worker and schedule. */
describe('operator CLI: ti-sync', () => {
  let stack: TestStack;

  before(async () => {
    // A daily interval: the schedule exists but does not fire during the test.
    stack = await startTestStack({ TI_SYNC_FEEDS: TI_FEED, TI_SYNC_SCHEDULE: 'true', TI_SYNC_INTERVAL: '24h', TI_SYNC_ACTION: 'Warn' });
  });
  after(async () => {
    await stack?.client.schedule
      .getHandle(tiSyncScheduleId(stackSync(stack.env).syncId))
      .delete()
      .catch(() => undefined);
    await stack?.stop();
  });

  /** The CLI gets the Temporal settings only: the sync's settings come from the worker's schedule. */
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: stack.env.TEMPORAL_NAMESPACE,
      TEMPORAL_TASK_QUEUE: stack.env.TEMPORAL_TASK_QUEUE,
      PAYLOAD_ENCRYPTION_KEY: stack.env.PAYLOAD_ENCRYPTION_KEY,
    };
    return new Promise((resolve) => {
      execFile(process.execPath, [cliPath, ...args], { cwd: root, env, timeout: 90_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });
  }

  it('status before any run, dry-run writes nothing, run syncs, status shows the run', async () => {
    const settings = stackSync(stack.env);
    seedFeed(stack.simulator, mixedRows());

    const before = await cli(['ti-sync', 'status']);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, new RegExp(`${settings.syncId}\\s+${TI_FEED}\\s+1440m\\s+no\\s+\\S+ \\S+\\s+never`));

    const dry = await cli(['ti-sync', 'dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Outcome\s+dry-run/);
    assert.match(dry.stdout, /Would create\s+5/);
    assert.match(dry.stdout, /Skipped\s+.*weak-hash 2/);
    assert.equal(stack.simulator.defender.list().length, 0, 'a dry run writes nothing');

    const run = await cli(['ti-sync', 'run', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.outcome, 'complete');
    assert.equal(result.created, 5);
    assert.equal(heldBy(stack.simulator, settings.application).length, 5);
    assert.ok(stack.simulator.defender.list().every((indicator) => indicator.action === 'Warn'));

    const text = await cli(['ti-sync', 'run']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Created\s+0\n/);
    assert.match(text.stdout, /Unchanged\s+5/);

    const after = await eventually(
      async () => {
        const status = await cli(['ti-sync', 'status', '--json']);
        const [sync] = JSON.parse(status.stdout);
        return sync?.lastRun?.outcome === 'complete' ? sync : undefined;
      },
      20_000,
      'the CLI run in the status',
    );
    assert.equal(after.syncId, settings.syncId);
    assert.equal(after.everyMs, 86_400_000);
    assert.equal(after.lastRun.workflowId.startsWith(tiSyncScheduleId(settings.syncId)), true);
  });

  it('names the configured syncs when --sync matches none', async () => {
    const result = await cli(['ti-sync', 'run', '--sync', 'no-such-feed']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`no sync "no-such-feed"; configured: ${stackSync(stack.env).syncId} \\(${TI_FEED}\\)`));
  });
});

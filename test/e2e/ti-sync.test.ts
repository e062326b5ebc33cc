import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { loadWorkerConfig } from '../../src/config/worker';
import type { TiSyncInput, TiSyncResult, TiSyncSettings } from '../../src/shared/ti-sync';
import { ensureTiSyncSchedules, tiSyncScheduleId } from '../../src/worker/ti-sync-schedule';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/temporal';
import { heldBy, ipRows, MICROSOFT_SOURCE, mixedRows, seedFeed, SHA256, stackSync, TI_FEED } from '../helpers/ti-sync';

/**
 * The threat-intelligence sync end to end: the stack's worker runs the `tiSync` workflow on the real Temporal
 * server, its activities call the simulated Log Analytics and Defender APIs through the real clients.
 */
describe('threat-intelligence sync (Sentinel → Defender indicators)', () => {
  let stack: TestStack;
  let settings: TiSyncSettings;
  let runs = 0;

  const run = (input: Partial<TiSyncInput> = {}): Promise<TiSyncResult> =>
    stack.client.workflow.execute('tiSync', {
      taskQueue: stack.env.TEMPORAL_TASK_QUEUE,
      workflowId: `ti-sync-test-${Date.now()}-${(runs += 1)}`,
      args: [{ settings, ...input }],
    });

  before(async () => {
    stack = await startTestStack({
      TI_SYNC_FEEDS: TI_FEED,
      TI_SYNC_ACTION: 'Block',
      TI_SYNC_ACTION_FILE_SHA256: 'BlockAndRemediate',
      TI_SYNC_MICROSOFT_SOURCES: MICROSOFT_SOURCE,
    });
    settings = stackSync(stack.env);
  });
  after(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.simulator.threatIntel.clear();
    stack.simulator.defender.clear();
    stack.simulator.defender.cap = 15_000;
    stack.simulator.faults.clear();
  });

  it('creates what the rules select, with the action per type, and skips the rest with their reasons', async () => {
    seedFeed(stack.simulator, mixedRows());
    stack.simulator.defender.seed({
      indicatorValue: '203.0.113.50',
      indicatorType: 'IpAddress',
      action: 'Warn',
      title: 'theirs',
      description: 'd',
      application: 'SOAR',
    });
    const result = await run();
    assert.equal(result.outcome, 'complete');
    assert.deepEqual(heldBy(stack.simulator, settings.application), [
      `DomainName:evil.example.net`,
      `FileSha256:${SHA256(1)}`,
      'IpAddress:198.51.100.7',
      'IpAddress:2001:db8::7',
      'Url:https://evil.example.net/drop',
    ]);
    const byValue = new Map(stack.simulator.defender.list().map((indicator) => [indicator.indicatorValue, indicator]));
    assert.equal(byValue.get(SHA256(1))!.action, 'BlockAndRemediate');
    assert.equal(byValue.get('198.51.100.7')!.action, 'Block');
    assert.equal(byValue.get('198.51.100.7')!.title, `${TI_FEED}: C2 server`);
    assert.ok(byValue.get('198.51.100.7')!.expirationTime, "the feed's validity becomes the expiry");
    assert.equal(byValue.get('203.0.113.50')!.application, 'SOAR', "others' indicators untouched");
    assert.equal(result.created, 5);
    assert.deepEqual(result.plan.skipped, {
      'weak-hash': 2,
      'unsupported-type': 1,
      'low-confidence': 1,
      expired: 1,
      'covered-by-microsoft': 1,
    });
    assert.equal(result.plan.feedIndicators, 11, "the other feed's and Microsoft's rows are not read as the feed");
    assert.equal(result.plan.othersActive, 1);
    assert.ok(result.calls.logAnalyticsCalls >= 2 && result.calls.defenderCalls >= 3, JSON.stringify(result.calls));

    const again = await run();
    assert.deepEqual([again.created, again.updated, again.deleted, again.plan.unchanged], [0, 0, 0, 5], 'a repeated run changes nothing');
  });

  it('updates expiry, title and action; deletes what expired or left the feed', async () => {
    seedFeed(stack.simulator, ipRows(4, '10.30'));
    await run();
    const later = new Date(Date.now() + 60 * 86_400_000).toISOString();
    const [first, second, third, fourth] = ipRows(4, '10.30');
    seedFeed(stack.simulator, [
      { ...first, ValidUntil: later, LastUpdateTime: new Date(Date.now() + 1000).toISOString() },
      { ...second, Data: { name: 'renamed' }, LastUpdateTime: new Date(Date.now() + 1000).toISOString() },
      { ...third, IsDeleted: true, LastUpdateTime: new Date(Date.now() + 1000).toISOString() },
      { ...fourth, ValidUntil: new Date(Date.now() - 1000).toISOString(), LastUpdateTime: new Date(Date.now() + 1000).toISOString() },
    ]);
    // and one of ours expired in Defender that the feed no longer has
    stack.simulator.defender.seed({
      indicatorValue: '10.99.0.1',
      indicatorType: 'IpAddress',
      action: 'Block',
      title: 't',
      description: 'd',
      application: settings.application,
      expirationTime: new Date(Date.now() - 60_000).toISOString(),
    });
    const result = await run();
    assert.deepEqual([result.created, result.updated, result.deleted], [0, 2, 3]);
    assert.deepEqual([result.plan.toDeleteExpired, result.plan.toDeleteGone], [1, 2]);
    const held = stack.simulator.defender.list();
    assert.deepEqual(held.map((indicator) => indicator.indicatorValue).sort(), ['10.30.0.1', '10.30.0.2']);
    assert.equal(Date.parse(held.find((indicator) => indicator.indicatorValue === '10.30.0.1')!.expirationTime!), Date.parse(later));
    assert.equal(held.find((indicator) => indicator.indicatorValue === '10.30.0.2')!.title, `${TI_FEED}: renamed`);

    const changedAction = await run({ settings: { ...settings, actions: { ...settings.actions, IpAddress: 'Audit' } } });
    assert.equal(changedAction.updated, 2);
    assert.ok(stack.simulator.defender.list().every((indicator) => indicator.action === 'Audit'));
  });

  it('a dry run reports the plan and writes nothing', async () => {
    seedFeed(stack.simulator, ipRows(3, '10.40'));
    const result = await run({ dryRun: true });
    assert.equal(result.outcome, 'dry-run');
    assert.equal(result.plan.toCreate, 3);
    assert.equal(result.created, 0);
    assert.equal(stack.simulator.defender.list().length, 0);
    assert.equal(stack.simulator.defender.audit.length, 0);
  });

  it("the tenant cap counts others' indicators: the most confident and newest go in, the rest are reported", async () => {
    const rows = ipRows(1_200, '10.50', { Confidence: 100 });
    rows.forEach((row, index) => (row.LastUpdateTime = new Date(Date.parse('2026-12-01T00:00:00Z') + index * 1000).toISOString()));
    seedFeed(stack.simulator, rows);
    for (let index = 0; index < 3; index += 1) {
      stack.simulator.defender.seed({
        indicatorValue: `172.16.0.${index + 1}`,
        indicatorType: 'IpAddress',
        action: 'Warn',
        title: 't',
        description: 'd',
        application: 'SOAR',
      });
    }
    const result = await run({ settings: { ...settings, tenantCap: 1_003 } });
    assert.equal(result.outcome, 'complete');
    assert.equal(result.created, 1_000);
    assert.equal(result.plan.overCap.count, 200);
    assert.equal(result.plan.skipped['over-cap'], 200);
    // newest first: the 200 oldest (index 0..199) are out
    const held = new Set(heldBy(stack.simulator, settings.application));
    assert.ok(held.has(`IpAddress:${rows[1_199].ObservableValue}`));
    assert.ok(!held.has(`IpAddress:${rows[0].ObservableValue}`));
    assert.equal(stack.simulator.defender.activeCount(), 1_003);
    const imports = stack.simulator.defender.audit.filter((entry) => entry.operation === 'create').length;
    assert.equal(imports, 1_003, '3 seeded + 1,000 imported');
  });

  it('Defender refusing at its own cap (others grew meanwhile) is counted, reported, and the run ends', async () => {
    seedFeed(stack.simulator, ipRows(10, '10.60'));
    stack.simulator.defender.cap = 4;
    const result = await run();
    assert.equal(result.created, 4);
    assert.equal(result.failed, 6);
    assert.match(result.failureReasons.join(' '), /maximum of 4 active indicators/);
    assert.equal(result.outcome, 'incomplete');
  });

  it('a 429 storm: every Retry-After waited out, nothing lost, nothing duplicated, 429s counted', async () => {
    seedFeed(stack.simulator, ipRows(1_100, '10.70'));
    stack.simulator.faults.add({ service: 'defender', pathIncludes: '/indicators/import', retryAfterSeconds: 1, times: 9 });
    stack.simulator.faults.add({ service: 'logAnalytics', pathIncludes: '/query', retryAfterSeconds: 1, times: 2 });
    const throttledBefore = (await stack.workerMetrics.tiSync.throttled.get()).values.reduce((sum, sample) => sum + sample.value, 0);
    const result = await run();
    assert.equal(result.outcome, 'complete');
    assert.equal(result.created, 1_100);
    assert.equal(result.calls.throttled, 11);
    assert.equal(heldBy(stack.simulator, settings.application).length, 1_100);
    const creations = stack.simulator.defender.audit.filter((entry) => entry.operation === 'create').length;
    assert.equal(creations, 1_100, 'no duplicates');
    const throttledAfter = (await stack.workerMetrics.tiSync.throttled.get()).values.reduce((sum, sample) => sum + sample.value, 0);
    assert.equal(throttledAfter - throttledBefore, 11);
  });

  it('a lost answer to an applied import: the retried batch upserts, no duplicate', async () => {
    seedFeed(stack.simulator, ipRows(20, '10.80'));
    stack.simulator.faults.add({ service: 'defender', pathIncludes: '/indicators/import', loseResponse: true, times: 1 });
    const result = await run();
    assert.equal(result.outcome, 'complete');
    assert.equal(heldBy(stack.simulator, settings.application).length, 20);
    assert.ok([...stack.simulator.defender.audit].filter((entry) => entry.operation === 'create').length === 20);
    assert.ok(
      stack.simulator.defender.audit.some((entry) => entry.operation === 'update'),
      'the repeated batch updated in place',
    );
  });

  it("metrics per run on the worker's registry", async () => {
    seedFeed(stack.simulator, mixedRows());
    await run();
    const text = await stack.workerMetrics.registry.metrics();
    const sample = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    assert.ok(sample(new RegExp(`itdr_ti_sync_indicators_total\\{sync="${settings.syncId}",change="created"\\} (\\d+)`)) >= 5, text);
    assert.ok(sample(new RegExp(`itdr_ti_sync_skipped_total\\{sync="${settings.syncId}",reason="weak-hash"\\} (\\d+)`)) >= 2);
    assert.ok(sample(/itdr_ti_sync_api_calls_total\{api="defender"\} (\d+)/) > 0);
    assert.ok(sample(/itdr_ti_sync_api_calls_total\{api="loganalytics"\} (\d+)/) > 0);
    assert.ok(sample(new RegExp(`itdr_ti_sync_runs_total\\{sync="${settings.syncId}",outcome="complete"\\} (\\d+)`)) >= 1);
    assert.ok(!/itdr_verification_outcomes_total\{status="Unknown"/.test(text), 'a sync run is not counted as a verification');
  });

  it("the worker's schedule: every 30 minutes, overlaps skipped, catch-up bounded to one interval; a triggered run syncs", async () => {
    const config = loadWorkerConfig(stack.env).tiSync!;
    const scheduled = {
      ...config,
      syncs: [{ ...settings, syncId: `${settings.syncId}-sched`, application: `${settings.application}-sched` }],
    };
    const [created] = await ensureTiSyncSchedules(stack.client, { taskQueue: stack.env.TEMPORAL_TASK_QUEUE, config: scheduled });
    assert.equal(created.outcome, 'created');
    const again = await ensureTiSyncSchedules(stack.client, { taskQueue: stack.env.TEMPORAL_TASK_QUEUE, config: scheduled });
    assert.equal(again[0].outcome, 'updated');
    const handle = stack.client.schedule.getHandle(tiSyncScheduleId(`${settings.syncId}-sched`));
    try {
      const description = await handle.describe();
      assert.equal(description.spec.intervals?.[0]?.every, 30 * 60_000);
      assert.equal(description.policies.overlap, ScheduleOverlapPolicy.SKIP);
      assert.equal(description.policies.catchupWindow, 30 * 60_000);
      seedFeed(stack.simulator, ipRows(2, '10.90'));
      await handle.trigger();
      const action = await eventually(async () => (await handle.describe()).info.recentActions[0], 15_000, 'the triggered run');
      const result: TiSyncResult = await stack.client.workflow.getHandle(action.action.workflow.workflowId).result();
      assert.equal(result.created, 2);
      assert.deepEqual(heldBy(stack.simulator, `${settings.application}-sched`), ['IpAddress:10.90.0.1', 'IpAddress:10.90.0.2']);
    } finally {
      await handle.delete();
    }
  });
});

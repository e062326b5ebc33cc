import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { TiSyncActivities } from '../../src/activities/ti-sync-activities';
import { temporalCliPath } from '../../tools/dev/temporal-server';
import type { TiSyncApplyResult, TiSyncBatch, TiSyncInput, TiSyncPlanRound, TiSyncSettings } from '../../src/shared/ti-sync';
import { installQuietRuntime, workflowBundle } from '../helpers/temporal';

/**
 * Records histories of the `tiSync` workflow for the replay test, with in-memory activities (a feed of 3, one
 * stale indicator, one throttled import). Run once per released version of the workflow:
 *   npm run build && TEMPORAL_ADDRESS=127.0.0.1:7233 node dist/test/replay/record-ti-sync-histories.js ti-sync-v1
 */
const settings: TiSyncSettings = {
  syncId: 'recorded-feed-0a1b2c3d',
  workspaceId: '3f0b6c2a-7d4e-4a1b-9c8d-5e6f7a8b9c0d',
  feedName: 'recorded-feed',
  actions: { IpAddress: 'Block', DomainName: 'Block', Url: 'Audit', FileSha256: 'BlockAndRemediate' },
  minConfidence: 100,
  microsoftSources: ['Microsoft Defender Threat Intelligence'],
  tenantCap: 15_000,
  application: 'itdr-verify/recorded-feed-0a1b2c3d',
  lookbackMs: 30 * 86_400_000,
};

function fakeActivities(): TiSyncActivities {
  let rounds = 0;
  let throttledOnce = false;
  const calls = { logAnalyticsCalls: 1, defenderCalls: 1, throttled: 0 };
  const summary = {
    feedIndicators: 5,
    selected: 3,
    toCreate: 3,
    toUpdate: 0,
    toDeleteExpired: 1,
    toDeleteGone: 0,
    unchanged: 0,
    skipped: { 'weak-hash': 1, 'unsupported-type': 1 },
    othersActive: 2,
    overCap: { count: 0, examples: [] },
  };
  const batches: TiSyncBatch[] = [
    { kind: 'delete', expired: 1, ids: ['17'] },
    {
      kind: 'import',
      creates: 3,
      indicators: ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((value) => ({
        indicatorType: 'IpAddress' as const,
        indicatorValue: value,
        action: 'Block' as const,
        title: `recorded-feed: ${value}`,
        description: 'recorded',
        expirationTime: '2027-01-01T00:00:00.000Z',
        application: settings.application,
        confidence: 100,
        updatedAt: '2026-12-01T00:00:00.000Z',
      })),
    },
  ];
  return {
    async planTiSyncRound(_settings, maxBatches): Promise<TiSyncPlanRound> {
      rounds += 1;
      if (maxBatches === 0) return { summary, batches: [], more: true, calls };
      return rounds === 1
        ? { summary, batches, more: false, calls }
        : { summary: { ...summary, toCreate: 0, toDeleteExpired: 0, unchanged: 3 }, batches: [], more: false, calls };
    },
    async applyTiSyncBatch(_settings, batch): Promise<TiSyncApplyResult> {
      if (batch.kind === 'import' && !throttledOnce) {
        throttledOnce = true;
        throw ApplicationFailure.create({ type: 'TiThrottled', message: 'throttled (recorded)', nextRetryDelay: 1_000 });
      }
      return batch.kind === 'delete'
        ? { created: 0, updated: 0, deleted: batch.ids.length, failed: 0, failureReasons: [], calls }
        : { created: batch.creates, updated: 0, deleted: 0, failed: 0, failureReasons: [], calls: { ...calls, throttled: 1 } };
    },
    async recordTiSyncRun() {},
  };
}

async function main(label: string): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('set TEMPORAL_ADDRESS');
  installQuietRuntime();
  const cli = await temporalCliPath();
  const taskQueue = `record-ti-${Date.now()}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address });
  const outDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories');
  mkdirSync(outDir, { recursive: true });
  for (const [name, input] of [
    ['reconciled', { settings }],
    ['dry-run', { settings, dryRun: true }],
  ] as Array<[string, TiSyncInput]>) {
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: fakeActivities(),
    });
    await worker.runUntil(async () => {
      const workflowId = `record-${label}-${name}-${Date.now()}`;
      await client.workflow.execute('tiSync', { workflowId, taskQueue, args: [input] });
      const json = execFileSync(cli, ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json']);
      writeFileSync(path.join(outDir, `${label}-${name}.json`), json);
      console.log(`recorded ${label}-${name}`);
    });
  }
  await nativeConnection.close();
  await connection.close();
}

main(process.argv[2] ?? 'ti-sync-v1').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

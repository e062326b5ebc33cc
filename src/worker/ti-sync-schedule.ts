import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { TiSyncConfig } from '../config/ti-sync';
import type { TiSyncInput, TiSyncSettings } from '../shared/ti-sync';

export const TI_SYNC_SCHEDULE_PREFIX = 'itdr-verify-ti-sync-';

export function tiSyncScheduleId(syncId: string): string {
  return `${TI_SYNC_SCHEDULE_PREFIX}${syncId}`;
}

/**
 * One schedule per configured sync, created or brought up to date (interval, settings, task queue) at every worker
 * start. Overlapping runs are skipped; after an outage at most one missed run is caught up (the catch-up window is
 * one interval), since a run reconciles everything anyway.
 */
export async function ensureTiSyncSchedules(
  client: Client,
  options: { taskQueue: string; config: TiSyncConfig },
): Promise<Array<{ scheduleId: string; outcome: 'created' | 'updated' }>> {
  const results: Array<{ scheduleId: string; outcome: 'created' | 'updated' }> = [];
  for (const settings of options.config.syncs) {
    results.push({ scheduleId: tiSyncScheduleId(settings.syncId), outcome: await ensureOne(client, settings, options) });
  }
  return results;
}

async function ensureOne(
  client: Client,
  settings: TiSyncSettings,
  options: { taskQueue: string; config: TiSyncConfig },
): Promise<'created' | 'updated'> {
  const scheduleId = tiSyncScheduleId(settings.syncId);
  const input: TiSyncInput = { settings };
  const schedule: Omit<ScheduleOptions, 'scheduleId'> = {
    spec: { intervals: [{ every: options.config.intervalMs }] },
    action: { type: 'startWorkflow', workflowType: 'tiSync', workflowId: scheduleId, taskQueue: options.taskQueue, args: [input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: options.config.intervalMs },
    state: { note: `itdr-verify: threat-intelligence sync of the feed "${settings.feedName}" into Defender for Endpoint` },
  };
  try {
    await client.schedule.create({ scheduleId, ...schedule });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec: schedule.spec,
      action: schedule.action,
      policies: { ...previous.policies, ...schedule.policies },
    }));
    return 'updated';
  }
}

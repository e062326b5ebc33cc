import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';

export const SECRET_EXPIRY_SCHEDULE_ID = 'itdr-verify-secret-expiry';

/**
 * Creates the daily `secretExpiryCheck` schedule, or brings an existing one up to date (task queue, spec), so
 * every worker start-up may call it. Overlapping runs are skipped.
 */
export async function ensureSecretExpirySchedule(
  client: Client,
  options: { taskQueue: string; scheduleId?: string },
): Promise<'created' | 'updated'> {
  const scheduleId = options.scheduleId ?? SECRET_EXPIRY_SCHEDULE_ID;
  const schedule: Omit<ScheduleOptions, 'scheduleId'> = {
    spec: { intervals: [{ every: '1d' }] },
    action: { type: 'startWorkflow', workflowType: 'secretExpiryCheck', workflowId: scheduleId, taskQueue: options.taskQueue, args: [] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1d' },
    state: { note: "itdr-verify: daily check of the Key Vault secrets' expiry dates" },
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

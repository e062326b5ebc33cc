import type { Client, ScheduleDescription } from '@temporalio/client';
import type { TiSyncInput, TiSyncResult } from '../shared/ti-sync';
import { TI_SYNC_SCHEDULE_PREFIX } from '../worker/ti-sync-schedule';
import type { tiSync } from '../workflows';
import { withTemporal } from './commands';
import { CliError, EXIT_FAILURE, EXIT_OK } from './errors';
import { formatTime, keyValues, printJson, table, type Output } from './output';

/**
 * `itdr-verify ti-sync run|dry-run|status`. The syncs are the worker's schedules (`itdr-verify-ti-sync-<id>`): a
 * run from the CLI takes its settings from the schedule the worker wrote, so the CLI needs no TI_SYNC_* of its own
 * and cannot run with settings the worker does not have.
 */

interface ConfiguredSync {
  scheduleId: string;
  description: ScheduleDescription;
  input: TiSyncInput;
}

async function configuredSyncs(client: Client): Promise<ConfiguredSync[]> {
  const syncs: ConfiguredSync[] = [];
  for await (const summary of client.schedule.list()) {
    if (!summary.scheduleId.startsWith(TI_SYNC_SCHEDULE_PREFIX)) continue;
    const description = await client.schedule.getHandle(summary.scheduleId).describe();
    if (description.action.type !== 'startWorkflow' || description.action.workflowType !== 'tiSync') continue;
    const input = description.action.args?.[0] as TiSyncInput | undefined;
    if (input?.settings) syncs.push({ scheduleId: summary.scheduleId, description, input });
  }
  return syncs.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** The sync `name` picks (its id or its feed's name), or the only one. */
function pick(syncs: ConfiguredSync[], name: string | undefined): ConfiguredSync {
  if (syncs.length === 0)
    throw new CliError('no threat-intelligence sync is configured: the worker creates one schedule per TI_SYNC_FEEDS entry');
  if (name === undefined) {
    if (syncs.length === 1) return syncs[0];
    throw new CliError(
      `several syncs are configured; choose one with --sync: ${syncs.map((sync) => sync.input.settings.syncId).join(', ')}`,
    );
  }
  const found = syncs.find((sync) => sync.input.settings.syncId === name || sync.input.settings.feedName === name);
  if (!found)
    throw new CliError(
      `no sync "${name}"; configured: ` +
        `${syncs.map((sync) => `${sync.input.settings.syncId} (${sync.input.settings.feedName})`).join(', ')}`,
    );
  return found;
}

function summaryLines(result: TiSyncResult): string {
  const skipped = Object.entries(result.plan.skipped)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  return keyValues([
    ['Sync', `${result.syncId} (feed "${result.feedName}")`],
    ['Outcome', result.outcome],
    ['Feed indicators', result.plan.feedIndicators],
    ['Selected', result.plan.selected],
    [result.dryRun ? 'Would create' : 'Created', result.dryRun ? result.plan.toCreate : result.created],
    [result.dryRun ? 'Would update' : 'Updated', result.dryRun ? result.plan.toUpdate : result.updated],
    [
      result.dryRun ? 'Would delete' : 'Deleted',
      result.dryRun
        ? `${result.plan.toDeleteExpired + result.plan.toDeleteGone} (${result.plan.toDeleteExpired} expired, ` +
          `${result.plan.toDeleteGone} gone from the feed)`
        : result.deleted,
    ],
    ['Unchanged', result.plan.unchanged],
    ['Refused by Defender', result.failed ? `${result.failed}: ${result.failureReasons.join('; ')}` : undefined],
    ['Skipped', skipped || 'none'],
    ['Over the cap', result.plan.overCap.count ? `${result.plan.overCap.count} (e.g. ${result.plan.overCap.examples.join(', ')})` : '0'],
    ["Others' indicators", result.plan.othersActive],
    [
      'API calls',
      `Log Analytics ${result.calls.logAnalyticsCalls}, Defender ${result.calls.defenderCalls}, 429s ${result.calls.throttled}`,
    ],
    ['Rounds', result.rounds],
    ['Started', formatTime(result.startedAt)],
    ['Finished', formatTime(result.finishedAt)],
  ]);
}

/** Runs the sync now (or plans it, dryRun) in a workflow of its own and waits for the result. */
export async function tiSyncRunCommand(output: Output, options: { sync?: string; dryRun: boolean }): Promise<number> {
  return withTemporal(async (client) => {
    const sync = pick(await configuredSyncs(client), options.sync);
    const description = sync.description.action as { taskQueue: string };
    const workflowId = `${sync.scheduleId}-${options.dryRun ? 'dry-run' : 'cli'}-${Date.now()}`;
    output.note(`${options.dryRun ? 'planning' : 'running'} ${sync.input.settings.syncId} as workflow ${workflowId} ...`);
    const result: TiSyncResult = await client.workflow.execute<typeof tiSync>('tiSync', {
      taskQueue: description.taskQueue,
      workflowId,
      args: [{ settings: sync.input.settings, ...(options.dryRun ? { dryRun: true } : {}) } satisfies TiSyncInput],
    });
    if (output.json) printJson(output, { workflowId, ...result });
    else output.out(summaryLines(result));
    return result.outcome === 'incomplete' ? EXIT_FAILURE : EXIT_OK;
  });
}

/** The latest run of a sync, scheduled or from the CLI (dry runs aside): its workflow ids start with the schedule's. */
async function latestRun(
  client: Client,
  scheduleId: string,
): Promise<({ workflowId: string; status: string } & Partial<TiSyncResult>) | undefined> {
  const query = `WorkflowType = 'tiSync' AND WorkflowId STARTS_WITH '${scheduleId}'`;
  let seen = 0;
  for await (const execution of client.workflow.list({ query, pageSize: 20 })) {
    if ((seen += 1) > 50) break;
    if (execution.workflowId.includes('-dry-run-')) continue;
    const status = execution.status.name;
    const result =
      status === 'COMPLETED' ? ((await client.workflow.getHandle(execution.workflowId, execution.runId).result()) as TiSyncResult) : {};
    return { workflowId: execution.workflowId, status, ...result };
  }
  return undefined;
}

/** Each sync's schedule and the result of its latest run. */
export async function tiSyncStatusCommand(output: Output, options: { sync?: string }): Promise<number> {
  return withTemporal(async (client) => {
    const all = await configuredSyncs(client);
    const syncs = options.sync === undefined ? all : [pick(all, options.sync)];
    if (syncs.length === 0)
      throw new CliError('no threat-intelligence sync is configured: the worker creates one schedule per TI_SYNC_FEEDS entry');
    const statuses = [];
    for (const sync of syncs) {
      const lastRun = await latestRun(client, sync.scheduleId);
      statuses.push({
        scheduleId: sync.scheduleId,
        syncId: sync.input.settings.syncId,
        feedName: sync.input.settings.feedName,
        workspaceId: sync.input.settings.workspaceId,
        actions: sync.input.settings.actions,
        minConfidence: sync.input.settings.minConfidence,
        everyMs: Number(sync.description.spec.intervals?.[0]?.every ?? 0),
        paused: sync.description.state.paused,
        nextRuns: sync.description.info.nextActionTimes.slice(0, 3).map((time) => time.toISOString()),
        lastRun,
      });
    }
    if (output.json) {
      printJson(output, statuses);
      return EXIT_OK;
    }
    output.out(
      table(
        ['SYNC', 'FEED', 'EVERY', 'PAUSED', 'NEXT RUN', 'LAST RUN', 'CREATED', 'UPDATED', 'DELETED', 'OVER CAP'],
        statuses.map((status) => [
          status.syncId,
          status.feedName,
          `${Math.round(status.everyMs / 60_000)}m`,
          status.paused ? 'yes' : 'no',
          formatTime(status.nextRuns[0]),
          status.lastRun
            ? `${status.lastRun.outcome ?? status.lastRun.status.toLowerCase()} ${formatTime(status.lastRun.finishedAt)}`.trim()
            : 'never',
          String(status.lastRun?.created ?? '-'),
          String(status.lastRun?.updated ?? '-'),
          String(status.lastRun?.deleted ?? '-'),
          String(status.lastRun?.plan?.overCap.count ?? '-'),
        ]),
      ),
    );
    return EXIT_OK;
  });
}

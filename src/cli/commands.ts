import os from 'node:os';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { loadConfirmationConfig } from '../config/confirmation';
import type { TemporalConfig } from '../config/temporal';
import { ConfirmationLinks } from '../confirmation/confirmation-link';
import { cancelVerificationSignal, resendLinkSignal, reviewDecisionUpdate, verificationLinkUpdate } from '../shared/messages';
import type { ReviewDecision, VerificationLinkResult, VerificationOutcome, VerificationState, VerificationStatus } from '../shared/types';
import { createTemporalClient } from '../temporal/connection';
import { isPayloadKeyMismatch, PAYLOAD_KEY_MISMATCH } from '../temporal/payload-codec';
import { loadCliConfig } from './config';
import { CliError } from './errors';
import { formatAge, formatTime, keyValues, printJson, table, type Output } from './output';
import { listQuery } from './queries';
import {
  outcomeWithin,
  queryStatus,
  requirePerUserWorkflow,
  requireRunning,
  resolveVerification,
  summarize,
  type ResolvedVerification,
  type VerificationSummary,
} from './verifications';

/** Who the audit trail names for an operator's action: `cli:<os user>`. */
export function operatorName(): string {
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
  }
  user ||= process.env.USER || process.env.LOGNAME || process.env.USERNAME || 'unknown';
  return `cli:${user}`;
}

/** Connects with the deployment's settings and payload codec, runs `action`, and always closes the connection. */
export async function withTemporal<T>(
  action: (client: Client, config: TemporalConfig) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const config = loadCliConfig(env);
  let connected: Awaited<ReturnType<typeof createTemporalClient>>;
  try {
    connected = await createTemporalClient(config);
  } catch (error) {
    throw new CliError(`cannot reach Temporal at ${config.address} (namespace ${config.namespace}): ${(error as Error).message}`);
  }
  try {
    return await action(connected.client, config);
  } catch (error) {
    if (isPayloadKeyMismatch(error)) throw keyMismatch(config);
    throw error;
  } finally {
    await connected.connection.close().catch(() => undefined);
  }
}

/** The key is at fault, not the worker: say so, with the key id, never the key. */
function keyMismatch(config: TemporalConfig): CliError {
  return new CliError(
    `${PAYLOAD_KEY_MISMATCH}: the verification's data does not decrypt with this PAYLOAD_ENCRYPTION_KEY (key id ` +
      `${config.payloadKey.id}); ` +
      'set it to the key the gateway and worker use (npm run dev prints it)',
  );
}

// ---------------------------------------------------------------------------------------------- list

export interface ListOptions {
  stuck?: boolean;
  olderThanMs?: number;
  status?: VerificationStatus;
  user?: string;
  limit: number;
}

export async function listCommand(output: Output, options: ListOptions): Promise<number> {
  return withTemporal(async (client, config) => {
    const query = listQuery({
      taskQueue: config.taskQueue,
      stuck: options.stuck ? { olderThanMs: options.olderThanMs ?? 0 } : undefined,
      status: options.status,
      user: options.user,
    });
    const rows: VerificationSummary[] = [];
    for await (const execution of client.workflow.list({ query, pageSize: Math.min(options.limit, 100) })) {
      rows.push(summarize(execution));
      if (rows.length >= options.limit) break;
    }
    if (output.json) {
      printJson(output, rows);
      return 0;
    }
    if (rows.length === 0) {
      output.out('No verifications match.');
    } else {
      output.out(
        table(
          ['WORKFLOW ID', 'INCIDENT', 'USER', 'STATUS', 'SESSION', 'STARTED'],
          rows.map((row) => [
            row.workflowId,
            row.incidentId ?? '-',
            row.user ?? '-',
            row.executionStatus === 'RUNNING' ? (row.status ?? '-') : `${row.status ?? '-'} (${row.executionStatus.toLowerCase()})`,
            row.sessionState ?? '-',
            `${formatTime(row.startTime)} (${formatAge(row.startTime)} ago)`,
          ]),
        ),
      );
      if (rows.length >= options.limit) output.note(`Showing the first ${options.limit}; use --limit for more.`);
    }
    output.note(`Visibility query (also usable in the Web UI): ${query}`);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------- show

export async function showCommand(output: Output, id: string): Promise<number> {
  return withTemporal(async (client, config) => {
    const target = await resolveVerification(client, config.taskQueue, id);
    const summaryText = await target.description.staticSummary().catch(() => undefined);
    let state: VerificationState | undefined;
    let queryError: string | undefined;
    try {
      state = await queryStatus(client, target);
    } catch (error) {
      if (isPayloadKeyMismatch(error)) throw keyMismatch(config);
      queryError = (error as Error).message;
    }
    const outcome = state?.outcome ?? (target.running ? undefined : await outcomeWithin(target, 5_000));
    const ok = state !== undefined || outcome !== undefined;
    if (output.json) {
      printJson(output, { ...target.summary, summary: summaryText, state, outcome, ...(queryError ? { queryError } : {}) });
    } else {
      output.out(describeVerification(target, summaryText, state, outcome));
    }
    if (!ok) {
      throw new CliError(`the status query failed (${queryError}); is a worker polling task queue ${target.summary.taskQueue}?`);
    }
    if (queryError) output.note(`note: the status query failed (${queryError}); showing the recorded outcome`);
    return 0;
  });
}

function describeVerification(
  target: ResolvedVerification,
  summaryText: string | undefined,
  state: VerificationState | undefined,
  outcome: VerificationOutcome | undefined,
): string {
  const summary = target.summary;
  const incident = state?.incidentId ?? summary.incidentId;
  const workspace = state?.workspace.workspaceName ?? summary.workspace;
  const lines = keyValues([
    ['Workflow', `${summary.workflowId} (${summary.workflowType}, ${summary.executionStatus})`],
    ['Run', summary.runId],
    ['Summary', summaryText],
    ['Task queue', summary.taskQueue],
    ['Started', formatTime(summary.startTime)],
    ['Closed', summary.closeTime ? formatTime(summary.closeTime) : undefined],
    [
      'Incident',
      incident
        ? `${incident}${summary.incidentNumber !== undefined ? ` (#${summary.incidentNumber})` : ''}${workspace ? ` in ${workspace}` : ''}`
        : undefined,
    ],
    ['User', state?.user ?? summary.user],
    ['Status', state?.status ?? summary.status],
    [
      'Session',
      (state?.lastSessionState ?? summary.sessionState ?? '-') +
        (state?.lastCheckedAt ? ` (read back ${formatTime(state.lastCheckedAt)})` : ''),
    ],
    ['Interview', state?.interviewId ?? summary.interviewId],
    ['Link expires', state?.linkExpiresAt ? formatTime(state.linkExpiresAt) : undefined],
    ['Deadline', state?.deadline ? formatTime(state.deadline) : undefined],
    ['Review', state?.reviewReason ? `${state.reviewReason}; decide before ${formatTime(state.reviewDeadline)}` : undefined],
    ['Linked', (state?.linkedIncidents ?? summary.linkedIncidentIds)?.join(', ')],
    ['Reminders', state?.remindersSent],
    ['Ignored events', state?.ignoredEvents || undefined],
    ['Parent', summary.parentWorkflowId],
  ]);
  const accounts = state?.accounts?.length
    ? '\nAccounts\n' +
      table(
        ['USER', 'STATUS', 'INTERVIEW'],
        state.accounts.map((account) => [account.user, account.status, account.interviewId ?? '-']),
      ).replace(/^/gm, '  ')
    : '';
  const decided = outcome
    ? '\n' +
      keyValues([
        [
          'Outcome',
          `${outcome.status}; incident ` + `${outcome.incidentAction}${outcome.confirmedBy ? `; confirmed by ${outcome.confirmedBy}` : ''}`,
        ],
        ['Decided', formatTime(outcome.decidedAt)],
        ['Reason', outcome.reason],
      ])
    : '';
  return lines + accounts + decided;
}

// ---------------------------------------------------------------------------------------------- resend

export async function resendCommand(output: Output, id: string, options: { showLink?: boolean }): Promise<number> {
  return withTemporal(async (client, config) => {
    const target = await resolveVerification(client, config.taskQueue, id);
    requireRunning(target, 'resend the link');
    requirePerUserWorkflow(target, 'resend the link');
    const state = await queryStatus(client, target);
    if (state.status !== 'AwaitingUser') {
      throw new CliError(`nothing to resend: verification ${target.workflowId} is ${state.status}, not waiting for the user`);
    }
    const requestedBy = operatorName();
    await target.handle.signal(resendLinkSignal, { requestedBy });
    const link = await currentLink(client, target);
    if (link.kind !== 'link') throw new CliError(`the verification has no link (${link.status}): ${link.reason}`);
    const expired = Date.parse(link.expiresAt) <= Date.now();
    const shownLink = options.showLink ? linkForUser(target.workflowId, state.user, link) : undefined;
    const result = {
      workflowId: target.workflowId,
      incidentId: state.incidentId,
      user: state.user,
      requestedBy,
      interviewId: link.interviewId,
      expiresAt: link.expiresAt,
      status: link.status,
      ...(shownLink ? { verificationUrl: shownLink } : {}),
    };
    if (output.json) {
      printJson(output, result);
    } else {
      output.out(`Reminder requested by ${requestedBy} for ${state.user} (incident ${state.incidentId}, ${target.workflowId}).`);
      output.out(
        keyValues([
          ['Interview', link.interviewId],
          [
            'Link expires',
            formatTime(link.expiresAt) + (expired ? ' (expired: a new link is being created; run resend again shortly)' : ''),
          ],
          ['Link', shownLink ?? '(not shown: it lets anyone answer as the user; add --show-link to print it)'],
        ]),
      );
    }
    return 0;
  });
}

/**
 * The link to hand the user: the confirmation page's (signed here with the links' key, as the gateway signs it:
 * CONFIRMATION_PAGE_URL and CONFIRMATION_LINK_KEY or PAYLOAD_ENCRYPTION_KEY), so the user confirms the activity
 * before the Incode check; Incode's own link only for a verification in `incode-direct` mode.
 */
function linkForUser(workflowId: string, user: string, link: Extract<VerificationLinkResult, { kind: 'link' }>): string {
  if (!link.confirmationPage || !link.deadline) return link.verificationUrl;
  const confirmation = loadConfirmationConfig();
  if (!confirmation.pageUrl) {
    throw new CliError('CONFIRMATION_PAGE_URL: is required to print the confirmation page link (the gateway as users reach it)');
  }
  return new ConfirmationLinks(confirmation.linkKey, confirmation.pageUrl).url({ workflowId, user, expiresAt: Date.parse(link.deadline) });
}

/**
 * The current link, from the `verificationLink` update. When the old link had expired, the workflow creates a
 * new session after the resend signal: wait a little for it rather than hand out a dead link.
 */
async function currentLink(client: Client, target: ResolvedVerification): Promise<VerificationLinkResult> {
  const until = Date.now() + 15_000;
  for (;;) {
    const link = await client.withDeadline(Date.now() + 20_000, () => target.handle.executeUpdate(verificationLinkUpdate));
    if (link.kind !== 'link' || Date.parse(link.expiresAt) > Date.now() || Date.now() > until) return link;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

// ---------------------------------------------------------------------------------------------- cancel

export async function cancelCommand(output: Output, id: string, options: { reason?: string }): Promise<number> {
  return withTemporal(async (client, config) => {
    const target = await resolveVerification(client, config.taskQueue, id);
    requireRunning(target, 'cancel');
    const requestedBy = operatorName();
    const reason = options.reason?.trim() || 'cancelled from the command line';
    await target.handle.signal(cancelVerificationSignal, { reason, requestedBy });
    const outcome = await outcomeWithin(target, 10_000);
    if (output.json) {
      printJson(output, { workflowId: target.workflowId, incidentId: target.summary.incidentId, requestedBy, reason, outcome });
    } else {
      output.out(`Cancel requested by ${requestedBy} for ${target.workflowId} (incident ${target.summary.incidentId ?? '-'}): ${reason}`);
      output.out(
        outcome
          ? `Verification ended: ${outcome.status} (incident ${outcome.incidentAction}): ${outcome.reason}`
          : 'The verification has not ended yet; "show" tells when it has.',
      );
    }
    if (outcome && outcome.status !== 'Cancelled') {
      throw new CliError(`the verification had already decided before the cancel arrived: ${outcome.status}`);
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------- approve / reject

export async function reviewCommand(
  output: Output,
  id: string,
  decision: ReviewDecision['decision'],
  options: { note?: string },
): Promise<number> {
  return withTemporal(async (client, config) => {
    const target = await resolveVerification(client, config.taskQueue, id);
    requireRunning(target, decision);
    requirePerUserWorkflow(target, decision);
    const reviewer = operatorName();
    const note = options.note?.trim();
    const review: ReviewDecision = { decision, reviewer, ...(note ? { note } : {}) };
    try {
      await client.withDeadline(Date.now() + 20_000, () => target.handle.executeUpdate(reviewDecisionUpdate, { args: [review] }));
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        const status = (await queryStatus(client, target).catch(() => undefined))?.status ?? target.summary.status ?? 'unknown';
        throw new CliError(`not awaiting review: verification ${target.workflowId} is ${status}`);
      }
      throw error;
    }
    const outcome = await outcomeWithin(target, 15_000);
    if (output.json) {
      printJson(output, { workflowId: target.workflowId, incidentId: target.summary.incidentId, decision, reviewer, note, outcome });
    } else {
      output.out(
        `${decision === 'approve' ? 'Approved' : 'Rejected'} by ${reviewer}: ${target.workflowId} (incident ` +
          `${target.summary.incidentId ?? '-'})`,
      );
      output.out(
        outcome
          ? `Verification ended: ${outcome.status} (incident ${outcome.incidentAction})`
          : 'The decision is recorded; the verification is applying it ("show" tells when it is done).',
      );
    }
    return 0;
  });
}

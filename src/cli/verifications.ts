import {
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { statusQuery, WORKFLOW_TYPES } from '../shared/messages';
import {
  IncidentIdAttribute,
  IncidentNumberAttribute,
  InterviewIdAttribute,
  LinkedIncidentsAttribute,
  SessionStateAttribute,
  VerificationStatusAttribute,
  VerifiedUserAttribute,
  WorkspaceAttribute,
} from '../shared/search-attributes';
import type { VerificationOutcome, VerificationState } from '../shared/types';
import { isPayloadKeyMismatch } from '../temporal/payload-codec';
import { CliError, UsageError } from './errors';
import { byIncidentQuery, byLinkedIncidentQuery } from './queries';

const VERIFICATION_TYPES: readonly string[] = Object.values(WORKFLOW_TYPES);

/** One row of `list`, and the head of `show`: what visibility knows (search attributes are not encrypted). */
export interface VerificationSummary {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  executionStatus: string;
  incidentId?: string;
  incidentNumber?: number;
  workspace?: string;
  user?: string;
  /** The VerificationStatus search attribute. */
  status?: string;
  /** The IncodeSessionState search attribute (`NotStarted`: the link was never opened). */
  sessionState?: string;
  interviewId?: string;
  linkedIncidentIds?: string[];
  parentWorkflowId?: string;
  taskQueue: string;
  startTime: string;
  closeTime?: string;
}

export function summarize(info: Omit<WorkflowExecutionInfo, 'raw'>): VerificationSummary {
  const attributes = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.type,
    executionStatus: info.status.name,
    incidentId: attributes.get(IncidentIdAttribute),
    incidentNumber: attributes.get(IncidentNumberAttribute),
    workspace: attributes.get(WorkspaceAttribute),
    user: attributes.get(VerifiedUserAttribute),
    status: attributes.get(VerificationStatusAttribute),
    sessionState: attributes.get(SessionStateAttribute),
    interviewId: attributes.get(InterviewIdAttribute),
    linkedIncidentIds: attributes.get(LinkedIncidentsAttribute),
    parentWorkflowId: info.parentExecution?.workflowId ?? undefined,
    taskQueue: info.taskQueue,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
  };
}

export interface ResolvedVerification {
  workflowId: string;
  description: WorkflowExecutionDescription;
  summary: VerificationSummary;
  running: boolean;
  handle: WorkflowHandle;
}

/**
 * `<incidentId|workflowId>`: a workflow id is tried first (an exact match); otherwise the verification whose
 * own incident it is (the `IncidentId` search attribute; a multi-account incident's parent, not its
 * per-account children), then the one it joined (`LinkedIncidentIds`). Only this deployment's task queue is
 * searched. Two verifications for one incident id (two workspaces) is ambiguous: the workflow id is needed.
 */
export async function resolveVerification(client: Client, taskQueue: string, id: string): Promise<ResolvedVerification> {
  const trimmed = id.trim();
  if (!trimmed) throw new UsageError('an incident id or workflow id is required');
  const direct = await describe(client, trimmed);
  if (direct) {
    if (!VERIFICATION_TYPES.includes(direct.type)) {
      throw new CliError(`workflow ${trimmed} is a ${direct.type}, not a verification (${VERIFICATION_TYPES.join(', ')})`);
    }
    return resolved(client, direct);
  }
  for (const query of [byIncidentQuery(trimmed, taskQueue), byLinkedIncidentQuery(trimmed, taskQueue)]) {
    const ids = new Set<string>();
    for await (const execution of client.workflow.list({ query, pageSize: 20 })) {
      if (!execution.parentExecution) ids.add(execution.workflowId);
      if (ids.size > 10) break;
    }
    if (ids.size > 1) {
      throw new CliError(`incident ${trimmed} matches ${ids.size} verifications (${[...ids].join(', ')}); pass the workflow id instead`);
    }
    if (ids.size === 1) {
      const description = await describe(client, [...ids][0]);
      if (description) return resolved(client, description);
    }
  }
  throw new CliError(`no verification found for "${trimmed}" (neither a workflow id nor an incident id on task queue ${taskQueue})`);
}

function resolved(client: Client, description: WorkflowExecutionDescription): ResolvedVerification {
  return {
    workflowId: description.workflowId,
    description,
    summary: summarize(description),
    running: description.status.name === 'RUNNING',
    // The latest run: the one a signal or update reaches.
    handle: client.workflow.getHandle(description.workflowId),
  };
}

async function describe(client: Client, workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** The `status` query; a finished verification needs a worker to answer it, hence the short deadline. */
export async function queryStatus(client: Client, target: ResolvedVerification): Promise<VerificationState> {
  const deadlineMs = target.running ? 15_000 : 5_000;
  return client.withDeadline(Date.now() + deadlineMs, () => target.handle.query(statusQuery));
}

/** The outcome of a finished verification (decrypted with the payload key), or of one that finishes within `waitMs`. */
export async function outcomeWithin(target: ResolvedVerification, waitMs: number): Promise<VerificationOutcome | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs);
  });
  try {
    return await Promise.race([target.handle.result() as Promise<VerificationOutcome>, timeout]);
  } catch (error) {
    // A result this key cannot read is the key's fault, not the workflow's: let the caller say so.
    if (isPayloadKeyMismatch(error)) throw error;
    // Failed, terminated, timed out: describe shows it.
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export function requireRunning(target: ResolvedVerification, what: string): void {
  if (!target.running) {
    const status = target.summary.status ? `, status ${target.summary.status}` : '';
    throw new CliError(`cannot ${what}: verification ${target.workflowId} already finished (${target.summary.executionStatus}${status})`);
  }
}

/** Resend and review exist only on the per-user workflow, not on a multi-account incident's parent. */
export function requirePerUserWorkflow(target: ResolvedVerification, what: string): void {
  if (target.description.type !== WORKFLOW_TYPES.user) {
    throw new CliError(
      `cannot ${what}: ${target.workflowId} is a multi-account incident (${target.description.type}); ` +
        `use the account's verification (${target.workflowId}-account-N, see "list")`,
    );
  }
}

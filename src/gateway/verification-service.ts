import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { identityVerification } from '../workflows';
import { verificationWorkflowId } from '../shared/ids';
import { statusQuery, verificationLinkUpdate, verificationResultSignal, WORKFLOW_TYPE } from '../shared/messages';
import {
  IncidentIdAttribute,
  IncidentNumberAttribute,
  IncidentSeverityAttribute,
  InterviewIdAttribute,
  VerificationStatusAttribute,
  VerifiedUserAttribute,
  WorkspaceAttribute,
} from '../shared/search-attributes';
import type { IncodeSessionEvent, VerificationLinkResult, VerificationRequest, VerificationState, WorkspaceRef } from '../shared/types';

export type StartResult =
  | { kind: 'link-or-reason'; workflowId: string; result: VerificationLinkResult }
  | { kind: 'already-finished'; workflowId: string; state?: VerificationState }
  | { kind: 'deadline'; workflowId: string };

export type SignalResult =
  | { kind: 'signalled'; workflowId: string }
  | { kind: 'acknowledged'; workflowId: string }
  | { kind: 'finished'; workflowId: string }
  | { kind: 'unknown' };

/** The gateway's only door to Temporal: start-or-join a verification, route webhooks, read status. */
export class VerificationService {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly workspaces: () => readonly WorkspaceRef[],
  ) {}

  /**
   * Update-With-Start: starts the incident's workflow if none runs, or joins the running one, and returns
   * the link as soon as the workflow has it. A completed verification is not started again.
   */
  async startOrJoin(request: VerificationRequest, deadlineMs: number): Promise<StartResult> {
    const workflowId = verificationWorkflowId(request.workspace, request.incidentId);
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof identityVerification>(WORKFLOW_TYPE, {
      workflowId,
      taskQueue: this.taskQueue,
      args: [request],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A verification that ended is final; one that crashed (failed, terminated) may be started again.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `Verify ${request.subject.email} for incident ${request.incidentNumber ?? request.incidentId}`,
      typedSearchAttributes: [
        { key: IncidentIdAttribute, value: request.incidentId },
        { key: WorkspaceAttribute, value: request.workspace.workspaceName },
        { key: VerifiedUserAttribute, value: request.subject.email },
        { key: VerificationStatusAttribute, value: 'CreatingSession' },
        ...(request.incidentSeverity ? [{ key: IncidentSeverityAttribute, value: request.incidentSeverity }] : []),
        ...(request.incidentNumber !== undefined ? [{ key: IncidentNumberAttribute, value: request.incidentNumber }] : []),
      ],
    });
    try {
      const result = await this.client.withDeadline(Date.now() + deadlineMs, () =>
        this.client.workflow.executeUpdateWithStart(verificationLinkUpdate, { startWorkflowOperation }),
      );
      return { kind: 'link-or-reason', workflowId, result };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        return { kind: 'already-finished', workflowId, state: await this.queryStatus(workflowId).catch(() => undefined) };
      }
      if (isDeadline(error)) return { kind: 'deadline', workflowId };
      throw error;
    }
  }

  /**
   * Finds the incident's workflow in any served workspace (then by interview id) and, for events that can
   * carry a result, signals it. Events for unknown verifications are refused; late ones are acknowledged.
   */
  async routeEvent(event: IncodeSessionEvent, options: { signal: boolean }): Promise<SignalResult> {
    const description = await this.findWorkflow(event);
    if (!description) return { kind: 'unknown' };
    if (description.status.name !== 'RUNNING') return { kind: 'finished', workflowId: description.workflowId };
    if (!options.signal) return { kind: 'acknowledged', workflowId: description.workflowId };
    try {
      await this.client.workflow.getHandle(description.workflowId, description.runId).signal(verificationResultSignal, event);
      return { kind: 'signalled', workflowId: description.workflowId };
    } catch (error) {
      // It finished between describe and signal.
      if (error instanceof WorkflowNotFoundError) return { kind: 'finished', workflowId: description.workflowId };
      throw error;
    }
  }

  async status(workspace: WorkspaceRef, incidentId: string): Promise<{ workflowId: string; running: boolean; state: VerificationState } | undefined> {
    const workflowId = verificationWorkflowId(workspace, incidentId);
    const description = await this.describe(workflowId);
    if (!description) return undefined;
    return { workflowId, running: description.status.name === 'RUNNING', state: await this.queryStatus(workflowId) };
  }

  private queryStatus(workflowId: string): Promise<VerificationState> {
    return this.client.workflow.getHandle(workflowId).query(statusQuery);
  }

  private async findWorkflow(event: IncodeSessionEvent): Promise<WorkflowExecutionDescription | undefined> {
    if (event.externalCustomerId) {
      for (const workspace of this.workspaces()) {
        const description = await this.describe(verificationWorkflowId(workspace, event.externalCustomerId));
        if (description) return description;
      }
    }
    if (event.interviewId) {
      // Visibility is eventually consistent; this path only serves webhooks that lack externalCustomerId.
      const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ${InterviewIdAttribute.name} = '${event.interviewId}'`;
      for await (const execution of this.client.workflow.list({ query, pageSize: 1 })) {
        return this.describe(execution.workflowId);
      }
    }
    return undefined;
  }

  private async describe(workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(workflowId).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }
}

function isDeadline(error: unknown): boolean {
  const text = `${(error as Error)?.name} ${(error as Error)?.message} ${String((error as { code?: unknown })?.code)}`;
  return /DEADLINE_EXCEEDED|deadline|WorkflowUpdateRPCTimeoutOrCancelled|\b4\b/i.test(text);
}

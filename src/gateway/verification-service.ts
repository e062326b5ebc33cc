import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowExecutionDescription,
  type WorkflowOptions,
} from '@temporalio/client';
import type { identityVerification, incidentVerification } from '../workflows';
import { verificationWorkflowId } from '../shared/ids';
import {
  cancelVerificationSignal,
  joinVerificationUpdate,
  reviewDecisionUpdate,
  statusQuery,
  userAnswerUpdate,
  verificationLinkUpdate,
  verificationResultSignal,
  WORKFLOW_TYPE,
  WORKFLOW_TYPES,
} from '../shared/messages';
import {
  IncidentIdAttribute,
  IncidentNumberAttribute,
  IncidentSeverityAttribute,
  InterviewIdAttribute,
  LinkedIncidentsAttribute,
  PolicyAttribute,
  VerificationStatusAttribute,
  VerifiedUserAttribute,
  WorkspaceAttribute,
} from '../shared/search-attributes';
import type {
  CancelRequest,
  IncidentVerificationRequest,
  IncodeSessionEvent,
  ReviewDecision,
  UserAnswerInput,
  UserAnswerResult,
  VerificationLinkResult,
  VerificationRequest,
  VerificationState,
  VerificationSubject,
  WorkspaceRef,
} from '../shared/types';
import { queryValue } from '../shared/visibility-query';
import { isUpdateDeadline } from './temporal-errors';

export type StartResult =
  | { kind: 'link-or-reason'; workflowId: string; result: VerificationLinkResult; joined?: boolean }
  | { kind: 'already-finished'; workflowId: string; state?: VerificationState }
  | { kind: 'deadline'; workflowId: string };

export type SteerResult = { kind: 'accepted' | 'finished' | 'refused'; workflowId: string; state: VerificationState } | { kind: 'unknown' };

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
  async startOrJoin(prepared: VerificationRequest & { subjects?: VerificationSubject[] }, deadlineMs: number): Promise<StartResult> {
    const { subjects, ...request } = prepared;
    const workflowId = verificationWorkflowId(request.workspace, request.incidentId);
    if (subjects && subjects.length > 1) {
      const { subject: _first, ...rest } = request;
      const incidentRequest: IncidentVerificationRequest = { ...rest, subjects };
      return this.updateWithStart(
        workflowId,
        new WithStartWorkflowOperation<typeof incidentVerification>(WORKFLOW_TYPES.incident, {
          ...this.startOptions(workflowId, incidentRequest, subjects[0].email),
          args: [incidentRequest],
        }),
        deadlineMs,
      );
    }
    if ((request.policy.joinWindowMs ?? 0) > 0) {
      const joined = await this.joinPendingVerificationOfUser(request, workflowId, deadlineMs);
      if (joined) return joined;
    }
    return this.updateWithStart(
      workflowId,
      new WithStartWorkflowOperation<typeof identityVerification>(WORKFLOW_TYPES.user, {
        ...this.startOptions(workflowId, request, request.subject.email),
        args: [request],
      }),
      deadlineMs,
    );
  }

  /** What both workflow types are started with, besides their arguments. */
  private startOptions(
    workflowId: string,
    request: VerificationRequest | IncidentVerificationRequest,
    user: string,
  ): WorkflowOptions & { workflowIdConflictPolicy: 'USE_EXISTING' } {
    return {
      workflowId,
      taskQueue: this.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A verification that ended is final; one that crashed (failed, terminated) may be started again.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `Verify ${user} for incident ${request.incidentNumber ?? request.incidentId}`,
      typedSearchAttributes: [
        { key: IncidentIdAttribute, value: request.incidentId },
        { key: WorkspaceAttribute, value: request.workspace.workspaceName },
        { key: VerifiedUserAttribute, value: user },
        { key: VerificationStatusAttribute, value: 'CreatingSession' },
        ...(request.incidentSeverity ? [{ key: IncidentSeverityAttribute, value: request.incidentSeverity }] : []),
        ...(request.policy.policyName ? [{ key: PolicyAttribute, value: request.policy.policyName }] : []),
        ...(request.incidentNumber !== undefined ? [{ key: IncidentNumberAttribute, value: request.incidentNumber }] : []),
      ],
    };
  }

  private async updateWithStart<W extends typeof identityVerification | typeof incidentVerification>(
    workflowId: string,
    startWorkflowOperation: WithStartWorkflowOperation<W>,
    deadlineMs: number,
  ): Promise<StartResult> {
    try {
      const result = await this.client.withDeadline(Date.now() + deadlineMs, () =>
        this.client.workflow.executeUpdateWithStart(verificationLinkUpdate, { startWorkflowOperation }),
      );
      return { kind: 'link-or-reason', workflowId, result };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        return { kind: 'already-finished', workflowId, state: await this.queryStatus(workflowId).catch(() => undefined) };
      }
      if (isUpdateDeadline(error)) return { kind: 'deadline', workflowId };
      throw error;
    }
  }

  /**
   * A repeat alert for a user whose verification is still waiting joins it: one link, one decision for all
   * the user's incidents. Found through visibility, which is eventually consistent: two alerts arriving in
   * the same second may still get two verifications, which is safe, only redundant.
   *
   * An incident that has a workflow of its own (running or closed) never joins another. That is checked by
   * describing its id, but only once the look-up found something to join: a first alert of a user with
   * nothing pending, the common case, costs the look-up alone.
   */
  private async joinPendingVerificationOfUser(
    request: VerificationRequest,
    ownWorkflowId: string,
    deadlineMs: number,
  ): Promise<StartResult | undefined> {
    const since = new Date(Date.now() - (request.policy.joinWindowMs ?? 0)).toISOString();
    const query = [
      `WorkflowType = ${queryValue(WORKFLOW_TYPE)}`,
      `ExecutionStatus = 'Running'`,
      // Another deployment (another task queue) may use another encryption key and policy.
      `TaskQueue = ${queryValue(this.taskQueue)}`,
      `${VerifiedUserAttribute.name} = ${queryValue(request.subject.email)}`,
      `${WorkspaceAttribute.name} = ${queryValue(request.workspace.workspaceName)}`,
      `StartTime > ${queryValue(since)}`,
    ].join(' AND ');
    let ownLookedAt = false;
    try {
      for await (const execution of this.client.workflow.list({ query, pageSize: 5 })) {
        if (!ownLookedAt) {
          ownLookedAt = true;
          // Listed itself, so it exists; otherwise ask, since visibility may not show it yet.
          if (execution.workflowId === ownWorkflowId || (await this.describe(ownWorkflowId))) return undefined;
        }
        const joined = await this.tryJoin(execution.workflowId, request, deadlineMs);
        if (joined) return joined;
      }
    } catch (error) {
      // Nothing was listed: an incident with a workflow of its own goes on to it, as if never looked up.
      if (!ownLookedAt && (await this.describe(ownWorkflowId))) return undefined;
      throw error;
    }
    return undefined;
  }

  private async tryJoin(workflowId: string, request: VerificationRequest, deadlineMs: number): Promise<StartResult | undefined> {
    try {
      const result = await this.client.withDeadline(Date.now() + deadlineMs, () =>
        this.client.workflow.getHandle(workflowId).executeUpdate(joinVerificationUpdate, {
          args: [
            {
              incidentId: request.incidentId,
              userEmail: request.subject.email,
              incidentNumber: request.incidentNumber,
              workspace: request.workspace,
              requestedBy: request.requestedBy,
              activity: request.activity,
            },
          ],
        }),
      );
      if (result.kind === 'link') return { kind: 'link-or-reason', workflowId, result, joined: true };
    } catch (error) {
      // Refused by the workflow (deciding, finished, another user): try the next one or start anew.
      if (!(error instanceof WorkflowUpdateFailedError) && !(error instanceof WorkflowNotFoundError)) throw error;
    }
    return undefined;
  }

  /**
   * Finds the incident's workflow in any served workspace (then by interview id) and, for events that can
   * carry a result, signals it. Events for unknown verifications are refused; late ones are acknowledged.
   */
  async routeEvent(event: IncodeSessionEvent, options: { signal: boolean }): Promise<SignalResult> {
    if (event.externalCustomerId) {
      for (const workspace of this.workspaces()) {
        const workflowId = verificationWorkflowId(workspace, event.externalCustomerId);
        // The common case, a running verification, in one round trip. By id alone the signal reaches the
        // latest run, the one a describe would have found; it fails only when that run is closed or none exists.
        if (options.signal && (await this.signalIfRunning(workflowId, event))) return { kind: 'signalled', workflowId };
        // A closed workflow answers for the event; without any, the next workspace may have it.
        const description = await this.describe(workflowId);
        if (description) return this.deliver(description, event, options);
      }
    }
    if (event.interviewId) {
      // Visibility is eventually consistent; this path only serves webhooks that lack externalCustomerId.
      // Parents of multi-account incidents carry no interview id; their children do, and name their parent.
      const query = `${InterviewIdAttribute.name} = ${queryValue(event.interviewId)}`;
      for await (const execution of this.client.workflow.list({ query, pageSize: 1 })) {
        const description = await this.describe(execution.workflowId);
        return description ? this.deliver(description, event, options) : { kind: 'unknown' };
      }
    }
    return { kind: 'unknown' };
  }

  /** Delivers the event to a workflow found by describe: signalled if it runs, else acknowledged or finished. */
  private async deliver(
    description: WorkflowExecutionDescription,
    event: IncodeSessionEvent,
    options: { signal: boolean },
  ): Promise<SignalResult> {
    if (description.status.name !== 'RUNNING') return { kind: 'finished', workflowId: description.workflowId };
    if (!options.signal) return { kind: 'acknowledged', workflowId: description.workflowId };
    if (await this.signalIfRunning(description.workflowId, event, description.runId))
      return { kind: 'signalled', workflowId: description.workflowId };
    // It finished between describe and signal.
    return { kind: 'finished', workflowId: description.workflowId };
  }

  /** False when the workflow (that run, if given) is closed or does not exist. */
  private async signalIfRunning(workflowId: string, event: IncodeSessionEvent, runId?: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId, runId).signal(verificationResultSignal, event);
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  async status(
    workspace: WorkspaceRef,
    incidentId: string,
  ): Promise<{ workflowId: string; running: boolean; state: VerificationState } | undefined> {
    let workflowId = verificationWorkflowId(workspace, incidentId);
    let description = await this.describe(workflowId);
    if (!description) {
      // The incident may have joined another incident's verification.
      const query = `WorkflowType = ${queryValue(WORKFLOW_TYPE)} AND ${LinkedIncidentsAttribute.name} = ${queryValue(incidentId)}`;
      for await (const execution of this.client.workflow.list({ query, pageSize: 1 })) {
        workflowId = execution.workflowId;
        description = await this.describe(workflowId);
        break;
      }
    }
    if (!description) return undefined;
    return { workflowId, running: description.status.name === 'RUNNING', state: await this.queryStatus(workflowId) };
  }

  /** Asks the incident's running verification to stop without touching the incident. */
  async cancel(workspace: WorkspaceRef, incidentId: string, cancel: CancelRequest): Promise<SteerResult> {
    const found = await this.status(workspace, incidentId);
    if (!found) return { kind: 'unknown' };
    if (!found.running) return { kind: 'finished', workflowId: found.workflowId, state: found.state };
    await this.client.workflow.getHandle(found.workflowId).signal(cancelVerificationSignal, cancel);
    return { kind: 'accepted', workflowId: found.workflowId, state: found.state };
  }

  /** Hands a reviewer's decision to a verification awaiting review; refused in any other state. */
  async review(workspace: WorkspaceRef, incidentId: string, decision: ReviewDecision): Promise<SteerResult> {
    const found = await this.status(workspace, incidentId);
    if (!found) return { kind: 'unknown' };
    if (!found.running) return { kind: 'finished', workflowId: found.workflowId, state: found.state };
    try {
      const state = await this.client.workflow.getHandle(found.workflowId).executeUpdate(reviewDecisionUpdate, { args: [decision] });
      return { kind: 'accepted', workflowId: found.workflowId, state };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) return { kind: 'refused', workflowId: found.workflowId, state: found.state };
      throw error;
    }
  }

  /** What the confirmation page shows: the verification's state, and whether it still runs. */
  async pageState(workflowId: string): Promise<{ running: boolean; state: VerificationState } | undefined> {
    const description = await this.describe(workflowId);
    if (!description || description.type !== WORKFLOW_TYPE) return undefined;
    return { running: description.status.name === 'RUNNING', state: await this.queryStatus(workflowId) };
  }

  /** Hands the user's answer to the verification; `refused` once it decided (or after a denial), `finished` if it ended. */
  async answer(workflowId: string, input: UserAnswerInput): Promise<UserAnswerResult | { kind: 'refused' | 'finished' }> {
    try {
      return await this.client.workflow.getHandle(workflowId).executeUpdate(userAnswerUpdate, { args: [input] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) return { kind: 'refused' };
      if (error instanceof WorkflowNotFoundError || /already completed/i.test((error as Error)?.message ?? '')) return { kind: 'finished' };
      throw error;
    }
  }

  private queryStatus(workflowId: string): Promise<VerificationState> {
    return this.client.workflow.getHandle(workflowId).query(statusQuery);
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

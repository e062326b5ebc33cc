import {
  ApplicationFailure,
  type ChildWorkflowHandle,
  type SignalDefinition,
  condition,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { cancelVerificationSignal, statusQuery, verificationLinkUpdate, verificationResultSignal } from '../shared/messages';
import {
  IncidentIdAttribute,
  InterviewIdAttribute,
  VerificationStatusAttribute,
  VerifiedUserAttribute,
  WorkspaceAttribute,
} from '../shared/search-attributes';
import type {
  AccountLink,
  IncidentAction,
  IncidentVerificationRequest,
  VerificationLinkResult,
  VerificationOutcome,
  VerificationSession,
  VerificationState,
  VerificationStatus,
  VerificationSubject,
} from '../shared/types';
import { applicationFailureOf, commentOnIncident, createVerificationSession } from './activity-proxies';
import { closeWithAudit, closeWithComment, escalateWithComment } from './incident-actions';
import { verificationStatus } from './verification-status';
import { messages } from './comments';
import { identityVerification } from './identity-verification';

interface AccountRun {
  subject: VerificationSubject;
  session: VerificationSession;
  child: ChildWorkflowHandle<typeof identityVerification>;
  outcome?: VerificationOutcome;
}

/**
 * An incident that names several accounts: one child verification per account. The incident is closed
 * only when every account is verified, and escalated as soon as one fails, times out or cannot be verified
 * (the comment names who); the other verifications are then stopped.
 */
export async function incidentVerification(request: IncidentVerificationRequest): Promise<VerificationOutcome> {
  // The same change as identityVerification's: the close carries the audit in its classification comment.
  const fewerWrites = patched('two-writes-per-verdict');
  const { policy } = request;
  const incident = { workspace: request.workspace, incidentId: request.incidentId };
  const state: VerificationState = {
    status: 'CreatingSession',
    incidentId: request.incidentId,
    workspace: request.workspace,
    user: request.subjects.map((subject) => subject.email).join(', '),
    ignoredEvents: 0,
    accounts: request.subjects.map((subject) => ({ user: subject.email, status: 'CreatingSession' })),
  };
  const runs: AccountRun[] = [];
  let links: AccountLink[] | undefined;
  let deadline: string | undefined;
  let noLinkReason: string | undefined;

  setHandler(statusQuery, () => state);
  setHandler(verificationLinkUpdate, async (): Promise<VerificationLinkResult> => {
    await condition(() => links !== undefined || noLinkReason !== undefined);
    if (!links) return { kind: 'no-link', status: state.status, reason: noLinkReason ?? 'unknown' };
    const confirmationPage = request.subjectNamedBy === 'sentinel' && policy.verificationLink !== 'incode-direct';
    return {
      kind: 'link',
      ...links[0],
      status: state.status,
      accounts: links,
      ...(confirmationPage ? { confirmationPage: true, deadline } : {}),
    };
  });
  // The gateway signals the incident's workflow; each event goes to the account whose session it names.
  setHandler(verificationResultSignal, async (event) => {
    const targets = runs.filter((run) => !event.interviewId || run.session.interviewId === event.interviewId);
    if (targets.length === 0) state.ignoredEvents++;
    for (const run of targets) if (!run.outcome) await signalUnlessEnded(run, verificationResultSignal, event);
  });
  setHandler(cancelVerificationSignal, async (cancel) => {
    for (const run of runs) if (!run.outcome) await signalUnlessEnded(run, cancelVerificationSignal, cancel);
  });

  const progress = verificationStatus(state, { foldsSearchAttributes: fewerWrites });
  const { setStatus } = progress;
  const escalate = (commentKey: string, comment: string): Promise<IncidentAction> =>
    escalateWithComment(incident, policy, commentKey, comment);
  const finish = (status: VerificationStatus, reason: string, action: () => Promise<IncidentAction>): Promise<VerificationOutcome> =>
    progress.finish(status, reason, async () => [{ incidentId: request.incidentId, action: await action() }]);

  setStatus('CreatingSession', `Creating Incode sessions for ${state.user}`);
  const sessions: VerificationSession[] = [];
  for (const [index, subject] of request.subjects.entries()) {
    try {
      sessions.push(
        await createVerificationSession({
          loginHint: subject.email,
          incidentId: request.incidentId,
          linkValidityMinutes: policy.linkValidityMinutes,
        }),
      );
      state.accounts![index].interviewId = sessions[index].interviewId;
    } catch (error) {
      // An account that cannot be verified means the incident cannot be confirmed as benign.
      const failure = applicationFailureOf(error);
      const status: VerificationStatus = failure?.type === 'IncodeUserNotFound' ? 'UserNotFound' : 'SessionError';
      state.accounts![index].status = status;
      noLinkReason = `${subject.email}: ${failure?.message ?? (error as Error).message}`;
      return finish(status, noLinkReason, () =>
        escalate('session-error', messages.accountsFailed(request, [{ user: subject.email, status, reason: noLinkReason! }])),
      );
    }
  }

  deadline = new Date(Date.now() + policy.timeoutMs).toISOString();
  const parentWorkflowId = workflowInfo().workflowId;
  for (const [index, subject] of request.subjects.entries()) {
    const session = sessions[index];
    const child = await startChild(identityVerification, {
      workflowId: `${parentWorkflowId}-account-${index + 1}`,
      args: [{ ...request, subject, accountOf: { parentWorkflowId, session } }],
      typedSearchAttributes: [
        { key: IncidentIdAttribute, value: request.incidentId },
        { key: WorkspaceAttribute, value: request.workspace.workspaceName },
        { key: VerifiedUserAttribute, value: subject.email },
        { key: VerificationStatusAttribute, value: 'AwaitingUser' },
        { key: InterviewIdAttribute, value: session.interviewId },
      ],
    });
    runs.push({ subject, session, child });
    state.accounts![index].status = 'AwaitingUser';
  }
  links = runs.map((run) => ({ user: run.subject.email, ...pickLink(run.session) }));
  setStatus('AwaitingUser', `Waiting for ${state.user} until ${deadline}`);
  await commentOnIncident({
    ...incident,
    commentKey: 'requested',
    message: messages.requestedAccounts(
      request,
      runs.map((run) => ({ user: run.subject.email, session: run.session })),
      deadline,
    ),
  });

  // Collect results as they come; the first account that is not verified decides.
  const pending = new Set(runs);
  for (const run of runs) {
    void run.child.result().then(
      (outcome) => {
        run.outcome = outcome;
      },
      (error: Error) => {
        run.outcome = { status: 'SessionError', reason: error.message, incidentAction: 'None', decidedAt: new Date().toISOString() };
      },
    );
  }
  for (;;) {
    await condition(() => [...pending].some((run) => run.outcome !== undefined));
    for (const run of [...pending]) {
      if (!run.outcome) continue;
      pending.delete(run);
      const index = runs.indexOf(run);
      state.accounts![index].status = run.outcome.status;
    }
    const failed = runs.filter((run) => run.outcome && run.outcome.status !== 'Verified');
    if (failed.length > 0) {
      const cancel = {
        reason: `another account of the incident was not verified (${failed.map((run) => run.subject.email).join(', ')})`,
        requestedBy: 'itdr-verify',
      };
      for (const run of pending) await signalUnlessEnded(run, cancelVerificationSignal, cancel);
      const cancelledAll = failed.every((run) => run.outcome!.status === 'Cancelled');
      const summary = failed.map((run) => ({ user: run.subject.email, status: run.outcome!.status, reason: run.outcome!.reason }));
      if (cancelledAll) return finish('Cancelled', summary.map((entry) => entry.reason).join('; '), async () => 'None');
      const status = failed.find((run) => run.outcome!.status !== 'Cancelled')!.outcome!.status;
      return finish(status, messages.accountsFailed(request, summary), () =>
        escalate('decision', messages.accountsFailed(request, summary)),
      );
    }
    if (pending.size === 0) break;
  }

  const reason = messages.accountsVerified(
    request,
    runs.map((run) => ({ user: run.subject.email, outcome: run.outcome! })),
  );
  return finish('Verified', reason, () =>
    fewerWrites ? closeWithAudit(incident, policy, reason) : closeWithComment(incident, policy, reason),
  );
}

/**
 * Signals an account's child. A child can end before its result reaches this workflow (it stopped on a cancel
 * signal just sent, or timed out with another): the server then answers "not found", which says only that the
 * child needs nothing more. Without this the whole incident's workflow failed with the child's result on its way.
 */
async function signalUnlessEnded<Args extends unknown[]>(run: AccountRun, signal: SignalDefinition<Args>, ...args: Args): Promise<void> {
  try {
    await run.child.signal(signal, ...args);
  } catch (error) {
    if (!(error instanceof ApplicationFailure && error.type === 'ExternalWorkflowExecutionNotFound')) throw error;
  }
}

function pickLink(session: VerificationSession): Omit<AccountLink, 'user'> {
  return { interviewId: session.interviewId, verificationUrl: session.verificationUrl, expiresAt: session.expiresAt };
}

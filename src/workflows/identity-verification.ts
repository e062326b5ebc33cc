import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { VerificationActivities } from '../activities';
import { joinVerificationUpdate, statusQuery, verificationLinkUpdate, verificationResultSignal } from '../shared/messages';
import {
  InterviewIdAttribute,
  LinkedIncidentsAttribute,
  SessionStateAttribute,
  VerificationStatusAttribute,
} from '../shared/search-attributes';
import type {
  ConfirmedSessionResult,
  IncidentAction,
  IncidentDecision,
  IncidentUpdateResult,
  IncodeSessionEvent,
  VerificationLinkResult,
  VerificationOutcome,
  VerificationRequest,
  VerificationSession,
  VerificationState,
  VerificationStatus,
  WorkspaceRef,
} from '../shared/types';
import { describeSubject, messages } from './comments';

// Session creation gives up after about a minute: the caller is waiting, and a long Incode outage is
// better escalated to an analyst than hidden.
const { createVerificationSession } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

const { readSessionResult } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

// The decision must reach the incident: keep retrying transient ARM trouble for up to a day.
const { closeIncident, escalateIncident, commentOnIncident } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' },
});

/** Polls slow down by this factor each time nothing changed, up to this multiple of the configured interval. */
const POLL_BACKOFF = 1.5;
const POLL_MAX_MULTIPLE = 6;

interface IncidentTarget {
  workspace: WorkspaceRef;
  incidentId: string;
}

type Trigger = 'webhook+read-back' | 'poll';

/**
 * One verification per Sentinel incident (and the same user's later incidents that join it): create the
 * Incode session, hand its link to the gateway, wait for the user, and close or escalate the incidents.
 * A webhook only wakes the workflow up; the decision is made on the session read back from Incode for the
 * interview this workflow created, and only if Incode says it belongs to this incident's user.
 */
export async function identityVerification(request: VerificationRequest): Promise<VerificationOutcome> {
  const { policy } = request;
  const state: VerificationState = {
    status: 'CreatingSession',
    incidentId: request.incidentId,
    workspace: request.workspace,
    user: request.subject.email,
    ignoredEvents: 0,
  };
  let session: VerificationSession | undefined;
  let noLinkReason: string | undefined;
  let deciding = false;
  const inbox: IncodeSessionEvent[] = [];
  const incidents: IncidentTarget[] = [{ workspace: request.workspace, incidentId: request.incidentId }];

  const linkResult = (): VerificationLinkResult =>
    session
      ? { kind: 'link', interviewId: session.interviewId, verificationUrl: session.verificationUrl, expiresAt: session.expiresAt, status: state.status }
      : { kind: 'no-link', status: state.status, reason: noLinkReason ?? 'unknown' };

  setHandler(statusQuery, () => state);
  setHandler(verificationResultSignal, (event) => {
    inbox.push(event);
  });
  setHandler(verificationLinkUpdate, async (): Promise<VerificationLinkResult> => {
    await condition(() => session !== undefined || noLinkReason !== undefined);
    return linkResult();
  });
  setHandler(
    joinVerificationUpdate,
    async (linked): Promise<VerificationLinkResult> => {
      await condition(() => session !== undefined || noLinkReason !== undefined);
      if (!session || deciding) return linkResult();
      if (!incidents.some((incident) => incident.incidentId === linked.incidentId)) {
        incidents.push({ workspace: linked.workspace, incidentId: linked.incidentId });
        state.linkedIncidents = [...(state.linkedIncidents ?? []), linked.incidentId];
        upsertSearchAttributes([{ key: LinkedIncidentsAttribute, value: state.linkedIncidents }]);
        await commentOnIncident({
          workspace: linked.workspace,
          incidentId: linked.incidentId,
          commentKey: 'requested',
          message: messages.joined(request, linked, session, state.deadline ?? ''),
        });
      }
      return linkResult();
    },
    {
      validator: (linked) => {
        // A different user never joins, and nothing joins a verification that is deciding or done.
        if (linked.userEmail.toLowerCase() !== request.subject.email.toLowerCase()) throw new Error('another user');
        if (deciding || noLinkReason !== undefined) throw new Error('verification is no longer waiting');
      },
    },
  );

  const setStatus = (status: VerificationStatus, details: string) => {
    state.status = status;
    upsertSearchAttributes([{ key: VerificationStatusAttribute, value: status }]);
    setCurrentDetails(details);
  };
  const applyToAll = async (apply: (incident: IncidentTarget) => Promise<IncidentAction>): Promise<IncidentDecision[]> => {
    deciding = true;
    const decisions: IncidentDecision[] = [];
    for (const incident of incidents) decisions.push({ incidentId: incident.incidentId, action: await apply(incident) });
    return decisions;
  };
  const finish = async (
    status: VerificationStatus,
    reason: string,
    apply: (incident: IncidentTarget) => Promise<IncidentAction>,
    extra: Partial<VerificationOutcome> = {},
  ): Promise<VerificationOutcome> => {
    setStatus(status, reason);
    const decisions = await applyToAll(apply);
    const outcome: VerificationOutcome = {
      status,
      reason,
      incidentAction: decisions[0].action,
      decidedAt: new Date().toISOString(),
      ...extra,
      ...(decisions.length > 1 ? { incidents: decisions } : {}),
    };
    state.outcome = outcome;
    // A join that was accepted just before the decision finishes its comment first.
    await condition(allHandlersFinished);
    return outcome;
  };
  const escalate = (commentKey: string, comment: string) => async (incident: IncidentTarget): Promise<IncidentAction> => {
    const result = await escalateIncident({ ...incident, severity: policy.escalationSeverity, label: policy.failureLabel });
    const note = result.kind === 'already-closed' ? messages.analystAlreadyClosed(result.classification) : '';
    await commentOnIncident({ ...incident, commentKey, message: comment + note });
    return actionFor(result, 'Escalated');
  };

  setStatus('CreatingSession', `Creating the Incode session for ${describeSubject(request.subject)}`);
  try {
    session = await createVerificationSession({
      loginHint: request.subject.email,
      incidentId: request.incidentId,
      linkValidityMinutes: policy.linkValidityMinutes,
    });
  } catch (error) {
    const failure = applicationFailureOf(error);
    const status: VerificationStatus = failure?.type === 'IncodeUserNotFound' ? 'UserNotFound' : 'SessionError';
    noLinkReason = failure?.message ?? (error as Error).message;
    log.warn('No verification session', { status, failureType: failure?.type });
    return finish(status, noLinkReason, escalate('session-error', messages.sessionError(request, status, noLinkReason)));
  }

  const deadline = Date.now() + policy.timeoutMs;
  state.interviewId = session.interviewId;
  state.linkExpiresAt = session.expiresAt;
  state.deadline = new Date(deadline).toISOString();
  upsertSearchAttributes([{ key: InterviewIdAttribute, value: session.interviewId }]);
  const reportsSessionState = patched('session-state-search-attribute');
  const reportSessionState = (sessionState: ConfirmedSessionResult['state']) => {
    if (state.lastSessionState === sessionState) return;
    state.lastSessionState = sessionState;
    if (reportsSessionState) upsertSearchAttributes([{ key: SessionStateAttribute, value: sessionState }]);
  };
  setStatus('AwaitingUser', `Waiting for ${request.subject.email} until ${state.deadline}`);
  const requested = await commentOnIncident({
    workspace: request.workspace,
    incidentId: request.incidentId,
    commentKey: 'requested',
    message: messages.requested(request, session, state.deadline),
  });
  if (requested.kind === 'not-found') {
    return finish('IncidentGone', 'The incident no longer exists in Sentinel', async () => 'None', { interviewId: session.interviewId });
  }

  const confirmed = await waitForConfirmedResult(session.interviewId, deadline, policy.pollIntervalMs, inbox, state, setStatus, reportSessionState);
  const evidence = { interviewId: session.interviewId, confirmedBy: confirmed?.trigger };

  if (confirmed?.result.state === 'Succeeded') {
    const mismatch = identityMismatch(request, confirmed.result);
    if (mismatch) {
      const reason = messages.identityMismatch(request, confirmed.result, mismatch);
      return finish('IdentityMismatch', reason, escalate('decision', reason), evidence);
    }
    const reason = messages.verified(request, confirmed.result, confirmed.trigger);
    return finish(
      'Verified',
      reason,
      async (incident) => {
        const result = await closeIncident({
          ...incident,
          classification: policy.closeClassification,
          classificationReason: policy.closeClassificationReason,
          classificationComment: reason,
        });
        const note = result.kind === 'already-closed' ? messages.analystAlreadyClosed(result.classification) : '';
        await commentOnIncident({ ...incident, commentKey: 'decision', message: reason + note });
        return actionFor(result, 'Closed');
      },
      evidence,
    );
  }
  if (confirmed?.result.state === 'Failed') {
    const reason = messages.failed(request, confirmed.result, confirmed.trigger);
    return finish('Failed', reason, escalate('decision', reason), evidence);
  }
  const reason = messages.timedOut(request, policy.timeoutMs, state.lastSessionState);
  return finish('TimedOut', reason, escalate('decision', reason), { interviewId: session.interviewId });
}

/**
 * Waits until Incode confirms a final result or the deadline passes. Wakes on a webhook (read back at
 * once) or on a poll timer that slows down while nothing changes (in case the webhook was lost), and reads
 * back one last time at the deadline so a user who finished at the last minute is not escalated.
 */
async function waitForConfirmedResult(
  interviewId: string,
  deadline: number,
  pollIntervalMs: number,
  inbox: IncodeSessionEvent[],
  state: VerificationState,
  setStatus: (status: VerificationStatus, details: string) => void,
  reportSessionState: (sessionState: ConfirmedSessionResult['state']) => void,
): Promise<{ result: ConfirmedSessionResult; trigger: Trigger } | undefined> {
  let pollDelay = pollIntervalMs;
  for (;;) {
    const remaining = deadline - Date.now();
    const woken = remaining > 0 && (await condition(() => inbox.length > 0, Math.min(pollDelay, remaining)));
    let trigger: Trigger = 'poll';
    if (woken) {
      const events = inbox.splice(0);
      // An event naming another interview (an older session, or a forged call) is no reason to act.
      const relevant = events.filter((event) => !event.interviewId || event.interviewId === interviewId);
      state.ignoredEvents += events.length - relevant.length;
      if (relevant.length === 0) continue;
      trigger = 'webhook+read-back';
    } else {
      pollDelay = Math.min(pollDelay * POLL_BACKOFF, pollIntervalMs * POLL_MAX_MULTIPLE);
    }
    let result: ConfirmedSessionResult | undefined;
    try {
      result = await readSessionResult(interviewId);
    } catch (error) {
      log.warn('Could not read the session back from Incode; will try again', { error: (error as Error).message });
    }
    if (result) {
      state.lastCheckedAt = result.checkedAt;
      reportSessionState(result.state);
      if (result.state === 'Succeeded' || result.state === 'Failed') return { result, trigger };
      if (result.state === 'PendingReview' && state.status !== 'PendingReview') {
        setStatus('PendingReview', 'Incode routed the session to manual review');
      }
    }
    if (Date.now() >= deadline) return undefined;
  }
}

/**
 * The confirmed session must belong to this incident's user: when Incode reports whom it verified or which
 * incident the session was for, both must match. (When it reports neither, the binding rests on the
 * interview id, which this workflow created for this user.)
 */
function identityMismatch(request: VerificationRequest, result: ConfirmedSessionResult): string | undefined {
  if (result.reportedLoginHint && result.reportedLoginHint !== request.subject.email.toLowerCase()) {
    return `Incode reports the session was completed as ${result.reportedLoginHint}`;
  }
  if (result.reportedExternalCustomerId && result.reportedExternalCustomerId !== request.incidentId) {
    return `Incode reports the session belongs to incident ${result.reportedExternalCustomerId}`;
  }
  return undefined;
}

function actionFor(result: IncidentUpdateResult, done: IncidentAction): IncidentAction {
  if (result.kind === 'updated') return done;
  if (result.kind === 'already-closed') return 'CommentedOnly';
  return 'None';
}

function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
  return error instanceof ApplicationFailure ? error : undefined;
}

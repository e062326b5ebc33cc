import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { VerificationActivities } from '../activities';
import { statusQuery, verificationLinkUpdate, verificationResultSignal } from '../shared/messages';
import { InterviewIdAttribute, VerificationStatusAttribute } from '../shared/search-attributes';
import type {
  ConfirmedSessionResult,
  IncidentAction,
  IncidentUpdateResult,
  IncodeSessionEvent,
  VerificationOutcome,
  VerificationRequest,
  VerificationSession,
  VerificationLinkResult,
  VerificationState,
  VerificationStatus,
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

/**
 * One verification per Sentinel incident: create the Incode session, hand its link to the gateway, wait
 * for the user, and close or escalate the incident. A webhook only wakes the workflow up; the decision is
 * made on the session result read back from Incode for the interview this workflow created.
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
  const inbox: IncodeSessionEvent[] = [];

  setHandler(statusQuery, () => state);
  setHandler(verificationResultSignal, (event) => {
    inbox.push(event);
  });
  setHandler(verificationLinkUpdate, async (): Promise<VerificationLinkResult> => {
    await condition(() => session !== undefined || noLinkReason !== undefined);
    return session
      ? { kind: 'link', interviewId: session.interviewId, verificationUrl: session.verificationUrl, expiresAt: session.expiresAt, status: state.status }
      : { kind: 'no-link', status: state.status, reason: noLinkReason ?? 'unknown' };
  });

  const setStatus = (status: VerificationStatus, details: string) => {
    state.status = status;
    upsertSearchAttributes([{ key: VerificationStatusAttribute, value: status }]);
    setCurrentDetails(details);
  };
  const incident = { workspace: request.workspace, incidentId: request.incidentId };
  const finish = async (
    status: VerificationStatus,
    reason: string,
    action: () => Promise<IncidentAction>,
    extra: Partial<VerificationOutcome> = {},
  ): Promise<VerificationOutcome> => {
    setStatus(status, reason);
    const incidentAction = await action();
    const outcome: VerificationOutcome = { status, reason, incidentAction, decidedAt: new Date().toISOString(), ...extra };
    state.outcome = outcome;
    return outcome;
  };
  const escalate = (commentKey: string, comment: string) => async (): Promise<IncidentAction> => {
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
  setStatus('AwaitingUser', `Waiting for ${request.subject.email} until ${state.deadline}`);
  const requested = await commentOnIncident({ ...incident, commentKey: 'requested', message: messages.requested(request, session, state.deadline) });
  if (requested.kind === 'not-found') {
    return finish('IncidentGone', 'The incident no longer exists in Sentinel', async () => 'None', { interviewId: session.interviewId });
  }

  const confirmed = await waitForConfirmedResult(session.interviewId, deadline, policy.pollIntervalMs, inbox, state, setStatus);
  const evidence = { interviewId: session.interviewId, confirmedBy: confirmed?.trigger };

  if (confirmed?.result.state === 'Succeeded') {
    const reason = messages.verified(request, confirmed.result, confirmed.trigger);
    return finish('Verified', reason, async () => {
      const result = await closeIncident({
        ...incident,
        classification: policy.closeClassification,
        classificationReason: policy.closeClassificationReason,
        classificationComment: reason,
      });
      const note = result.kind === 'already-closed' ? messages.analystAlreadyClosed(result.classification) : '';
      await commentOnIncident({ ...incident, commentKey: 'decision', message: reason + note });
      return actionFor(result, 'Closed');
    }, evidence);
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
 * once) or every poll interval (in case the webhook was lost), and reads back one last time at the deadline
 * so a user who finished at the last minute is not escalated.
 */
async function waitForConfirmedResult(
  interviewId: string,
  deadline: number,
  pollIntervalMs: number,
  inbox: IncodeSessionEvent[],
  state: VerificationState,
  setStatus: (status: VerificationStatus, details: string) => void,
): Promise<{ result: ConfirmedSessionResult; trigger: 'webhook+read-back' | 'poll' } | undefined> {
  for (;;) {
    const remaining = deadline - Date.now();
    const woken = remaining > 0 && (await condition(() => inbox.length > 0, Math.min(pollIntervalMs, remaining)));
    let trigger: 'webhook+read-back' | 'poll' = 'poll';
    if (woken) {
      const events = inbox.splice(0);
      // An event naming another interview (an older session, or a forged call) is no reason to act.
      const relevant = events.filter((event) => !event.interviewId || event.interviewId === interviewId);
      state.ignoredEvents += events.length - relevant.length;
      if (relevant.length === 0) continue;
      trigger = 'webhook+read-back';
    }
    let result: ConfirmedSessionResult | undefined;
    try {
      result = await readSessionResult(interviewId);
    } catch (error) {
      log.warn('Could not read the session back from Incode; will try again', { error: (error as Error).message });
    }
    if (result) {
      state.lastCheckedAt = result.checkedAt;
      state.lastSessionState = result.state;
      if (result.state === 'Succeeded' || result.state === 'Failed') return { result, trigger };
      if (result.state === 'PendingReview' && state.status !== 'PendingReview') {
        setStatus('PendingReview', 'Incode routed the session to manual review');
      }
    }
    if (Date.now() >= deadline) return undefined;
  }
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

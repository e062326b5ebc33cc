import { condition, log, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  cancelVerificationSignal,
  joinVerificationUpdate,
  resendLinkSignal,
  reviewDecisionUpdate,
  statusQuery,
  userAnswerUpdate,
  verificationLinkUpdate,
  verificationResultSignal,
} from '../shared/messages';
import { InterviewIdAttribute, LinkedIncidentsAttribute, PolicyAttribute, SessionStateAttribute } from '../shared/search-attributes';
import type {
  CancelRequest,
  ConfirmedSessionResult,
  IncidentAction,
  IncidentDecision,
  IncodeSessionEvent,
  LinkedIncident,
  ReviewDecision,
  UserAnswerInput,
  UserAnswerResult,
  VerificationLinkResult,
  VerificationOutcome,
  VerificationRequest,
  VerificationSession,
  VerificationState,
  VerificationStatus,
} from '../shared/types';
import {
  applicationFailureOf,
  commentOnIncident,
  createVerificationSession,
  lookUpUserProfile,
  lookUpUserProfileLocally,
  readSessionResult,
  remediateAccount,
  sendVerificationEmail,
} from './activity-proxies';
import { compareProfile } from '../identity/profile-match';
import { applyGroupRules, needsEntraProfile } from '../policy/policy-rules';
import type { EntraProfileLookup } from '../activities/graph-activities';
import { describeSubject, messages } from './comments';
import { closeWithAudit, closeWithComment, escalateWithComment, type IncidentTarget } from './incident-actions';
import { verificationStatus } from './verification-status';
import { decide, type Decision, type DecisionEvidence, type DecisionMode, type IncodeEvidence, type UserAnswer } from './decision';

/** Polls slow down by this factor each time nothing changed, up to this multiple of the configured interval. */
const POLL_BACKOFF = 1.5;
const POLL_MAX_MULTIPLE = 6;

type Trigger = 'webhook+read-back' | 'poll';

/**
 * One verification per Sentinel incident (and the same user's later incidents that join it): create the
 * Incode session, hand its link to the gateway, wait for the user, and close or escalate the incidents.
 * A webhook only wakes the workflow up; the decision is made on the session read back from Incode for the
 * interview this workflow created, and only if Incode says it belongs to this incident's user.
 */
export async function identityVerification(request: VerificationRequest): Promise<VerificationOutcome> {
  // From this version on a verdict costs two ARM writes (the "requested" comment, then one PUT that closes
  // with the audit as classification comment; escalations add their comment), the user's "This was me" goes
  // out with the next write to the incident instead of its own, search attributes set back to back are one
  // upsert, and the patches before this one are taken as applied. Histories recorded before it replay as
  // they ran (test/replay).
  const fewerWrites = patched('two-writes-per-verdict');
  // The effective policy: group rules apply once the user's Entra groups are known.
  let policy = request.policy;
  const state: VerificationState = {
    status: 'CreatingSession',
    incidentId: request.incidentId,
    workspace: request.workspace,
    user: request.subject.email,
    ignoredEvents: 0,
  };
  // The user confirms the activity on the gateway's page: verifications whose subject Sentinel named, unless
  // the policy keeps the seed's direct Incode link.
  const confirmationPage = request.subjectNamedBy === 'sentinel' && request.policy.verificationLink !== 'incode-direct';
  if (confirmationPage) {
    state.confirmationPage = true;
    state.activities = request.activity ? [request.activity] : [];
  }
  let session: VerificationSession | undefined;
  let noLinkReason: string | undefined;
  let deciding = false;
  const inbox: IncodeSessionEvent[] = [];
  // One account of a multi-account incident touches no incident: the incident workflow decides.
  const incidents: IncidentTarget[] = request.accountOf ? [] : [{ workspace: request.workspace, incidentId: request.incidentId }];
  const steering: Steering = {};
  let answers = 0;
  let answer: UserAnswer = 'none';
  let denial: UserAnswerInput | undefined;
  // The rule that the user confirms the activity applies from this version on; a verification replayed from
  // a history recorded before it decides as it did then. One that was waiting at the upgrade decides under
  // the new rule from its next decision on, and having had no page it can no longer close on its own.
  const confirmRule = () => fewerWrites || patched('user-confirms-activity');
  const progress = verificationStatus(state, { foldsSearchAttributes: fewerWrites });
  const { setStatus, setAttribute } = progress;
  /** "This was me" answers not yet on the incidents: they go out with the next write to all of them. */
  let unrecordedAnswers = '';
  const withAnswers = (text: string) => (unrecordedAnswers ? `${unrecordedAnswers}\n${text}` : text);
  const mode = (): DecisionMode =>
    !confirmRule() || (!confirmationPage && request.subjectNamedBy === 'sentinel') ? 'incode-only' : 'confirm-then-verify';
  const evidence = (incode: IncodeEvidence, deadlinePassed: boolean): DecisionEvidence => ({
    subjectNamedBySentinel: confirmRule() ? request.subjectNamedBy === 'sentinel' : true,
    answer,
    incode,
    analyst: steering.cancel ? 'stopped' : steering.review ? (steering.review.decision === 'approve' ? 'approved' : 'rejected') : 'none',
    deadlinePassed,
    mode: mode(),
  });

  const linkResult = (): VerificationLinkResult =>
    session
      ? {
          kind: 'link',
          interviewId: session.interviewId,
          verificationUrl: session.verificationUrl,
          expiresAt: session.expiresAt,
          status: state.status,
          ...(confirmationPage ? { confirmationPage: true, deadline: state.deadline } : {}),
        }
      : { kind: 'no-link', status: state.status, reason: noLinkReason ?? 'unknown' };

  setHandler(statusQuery, () => state);
  setHandler(verificationResultSignal, (event) => {
    inbox.push(event);
  });
  setHandler(cancelVerificationSignal, (cancel) => {
    steering.cancel ??= cancel;
  });
  setHandler(resendLinkSignal, () => {
    steering.resend = true;
  });
  setHandler(
    reviewDecisionUpdate,
    (decision): VerificationState => {
      steering.review = decision;
      return state;
    },
    {
      validator: (decision: ReviewDecision) => {
        if (decision.decision !== 'approve' && decision.decision !== 'reject') throw new Error('decision must be approve or reject');
        if (state.status !== 'AwaitingReview' || steering.review || deciding) throw new Error('this verification is not awaiting review');
      },
    },
  );
  setHandler(verificationLinkUpdate, async (): Promise<VerificationLinkResult> => {
    await condition(() => session !== undefined || noLinkReason !== undefined);
    return linkResult();
  });
  setHandler(
    joinVerificationUpdate,
    async (linked: LinkedIncident): Promise<VerificationLinkResult> => {
      await condition(() => session !== undefined || noLinkReason !== undefined);
      if (!session || deciding) return linkResult();
      if (!incidents.some((incident) => incident.incidentId === linked.incidentId)) {
        incidents.push({ workspace: linked.workspace, incidentId: linked.incidentId });
        if (state.activities && linked.activity) state.activities = [...state.activities, linked.activity];
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
      validator: (linked: LinkedIncident) => {
        // A different user never joins, and nothing joins a verification that is deciding or done.
        if (linked.userEmail.toLowerCase() !== request.subject.email.toLowerCase()) throw new Error('another user');
        if (deciding || noLinkReason !== undefined) throw new Error('verification is no longer waiting');
        // The user's answer covered the activities listed when they gave it: a later incident gets its own verification.
        if (answer !== 'none') throw new Error('the user already answered');
      },
    },
  );

  setHandler(
    userAnswerUpdate,
    async (input): Promise<UserAnswerResult> => {
      answers++;
      state.answer = { answer: input.answer, answeredAt: input.answeredAt };
      if (input.answer === 'wasnt-me') {
        // Escalated by the main loop at once; nothing that comes later can undo it.
        answer = 'wasnt-me';
        denial = input;
        return { kind: 'recorded' };
      }
      answer = 'was-me';
      // One account of several records its answer on the incident at once: the incident's verdict, written
      // by the parent workflow, carries only the accounts' outcomes.
      if (fewerWrites && !request.accountOf) {
        unrecordedAnswers = withAnswers(messages.confirmedActivity(request, input));
        return { kind: 'continue', verificationUrl: session!.verificationUrl };
      }
      const targets = incidents.length ? incidents : [{ workspace: request.workspace, incidentId: request.incidentId }];
      for (const incident of targets) {
        await commentOnIncident({ ...incident, commentKey: 'answer-was-me', message: messages.confirmedActivity(request, input) });
      }
      return { kind: 'continue', verificationUrl: session!.verificationUrl };
    },
    {
      validator: (input: UserAnswerInput) => {
        if (!confirmationPage) throw new Error('this verification has no confirmation page');
        if (input.answer !== 'was-me' && input.answer !== 'wasnt-me') throw new Error('answer must be was-me or wasnt-me');
        if (input.user.toLowerCase() !== request.subject.email.toLowerCase()) throw new Error('another user');
        if (!session || deciding || state.outcome || answer === 'wasnt-me') throw new Error('this verification is decided');
      },
    },
  );

  const applyToAll = async (apply: (incident: IncidentTarget) => Promise<IncidentAction>): Promise<IncidentDecision[]> => {
    deciding = true;
    const decisions: IncidentDecision[] = [];
    for (const incident of incidents) decisions.push({ incidentId: incident.incidentId, action: await apply(incident) });
    return decisions;
  };
  /** The verdict, applied to every incident; a join accepted just before it finishes its comment first. */
  const finish = (
    final: VerificationStatus,
    reason: string,
    apply: (incident: IncidentTarget) => Promise<IncidentAction>,
    extra: Partial<VerificationOutcome> = {},
  ): Promise<VerificationOutcome> => progress.finish(final, reason, () => applyToAll(apply), extra);
  /** Nothing changes on the incident (an analyst stopped it), but an answer not yet recorded is. */
  const leaveAsIs = async (incident: IncidentTarget): Promise<IncidentAction> => {
    if (unrecordedAnswers) await commentOnIncident({ ...incident, commentKey: 'answer-was-me', message: unrecordedAnswers });
    return 'None';
  };
  let remediation: string | undefined;
  /** Opt-in Graph remediation, once per verification, before the incidents are escalated. */
  const remediate = async (): Promise<string> => {
    if (remediation !== undefined) return remediation;
    if (!policy.remediation?.length || request.accountOf) return '';
    const user = request.subject.aadUserId ?? profile?.profile.id ?? request.subject.email;
    try {
      remediation = messages.remediation(await remediateAccount({ user, actions: policy.remediation }));
    } catch (error) {
      remediation = messages.remediationFailed((applicationFailureOf(error) ?? (error as Error)).message);
    }
    return remediation;
  };
  const escalate =
    (commentKey: string, comment: string, withRemediation = false) =>
    async (incident: IncidentTarget): Promise<IncidentAction> => {
      const done = withRemediation ? await remediate() : '';
      return escalateWithComment(incident, policy, commentKey, withAnswers(comment) + done);
    };
  const close =
    (reason: string) =>
    (incident: IncidentTarget): Promise<IncidentAction> =>
      fewerWrites ? closeWithAudit(incident, policy, withAnswers(reason)) : closeWithComment(incident, policy, reason);

  /** No Incode session can settle it (unknown user, guest): a human decides, within the review timeout. */
  const reviewWithoutSession = async (why: string): Promise<VerificationOutcome> => {
    noLinkReason = why;
    const waited = await awaitReview(why, 'none');
    return conclude(waited, undefined);
  };
  /** A reviewer decides (or an analyst stops it) before the review deadline; after it, the verification escalates. */
  const awaitReview = async (why: string, incode: IncodeEvidence, confirmed?: WaitResult['confirmed']): Promise<WaitResult> => {
    const reviewDeadline = Date.now() + (policy.reviewTimeoutMs ?? policy.timeoutMs);
    state.reviewReason = why;
    state.reviewDeadline = new Date(reviewDeadline).toISOString();
    setStatus('AwaitingReview', `${why}; a reviewer decides before ${state.reviewDeadline}`);
    for (const incident of incidents) {
      await commentOnIncident({
        ...incident,
        commentKey: 'review-requested',
        message: withAnswers(messages.reviewRequested(request, why, state.reviewDeadline)),
      });
    }
    if (incidents.length > 0) unrecordedAnswers = '';
    const seen = answers;
    await condition(
      () => steering.review !== undefined || steering.cancel !== undefined || answers !== seen,
      Math.max(reviewDeadline - Date.now(), 1),
    );
    const decision = decide(evidence(incode, false));
    // Whatever Incode said, a review nobody decided in time escalates.
    if (decision.action === 'close' && decision.why !== 'reviewer-approved')
      return { kind: 'decided', decision: { action: 'escalate', why: 'timed-out' }, confirmed };
    if (decision.action === 'wait') return { kind: 'decided', decision: { action: 'escalate', why: 'timed-out' }, confirmed };
    return { kind: 'decided', decision, confirmed };
  };

  // The Entra profile (and groups) when the policy needs them: group rules, guests, profile matching, remediation.
  let profile: EntraProfileLookup | undefined;
  if (!request.accountOf && needsEntraProfile(policy)) {
    try {
      // A look-up: run by the workflow's own worker (one history event), with the same retries.
      profile = await (fewerWrites ? lookUpUserProfileLocally : lookUpUserProfile)(request.subject.aadUserId ?? request.subject.email);
      policy = applyGroupRules(policy, profile.groupIds);
      // Comments and decisions from here on describe the effective policy.
      if (policy.policyName !== request.policy.policyName && policy.policyName) {
        setAttribute({ key: PolicyAttribute, value: policy.policyName });
      }
      request = { ...request, policy };
      state.policyName = policy.policyName;
    } catch (error) {
      log.warn('Entra profile unavailable', { error: (applicationFailureOf(error) ?? (error as Error)).message });
    }
    if (profile?.profile.userType === 'Guest' && (policy.guestUserPath ?? 'verify') !== 'verify') {
      const why = `${request.subject.email} is a guest (B2B) account`;
      if (policy.guestUserPath === 'review') return reviewWithoutSession(why);
      noLinkReason = why;
      return finish(
        'GuestUser',
        why,
        escalate('session-error', messages.sessionError(request, 'GuestUser', `${why}; the policy escalates guests`)),
      );
    }
  }

  setStatus('CreatingSession', `Creating the Incode session for ${describeSubject(request.subject)}`);
  try {
    session =
      request.accountOf?.session ??
      (await createVerificationSession({
        loginHint: request.subject.email,
        incidentId: request.incidentId,
        linkValidityMinutes: policy.linkValidityMinutes,
        ...(policy.linkDelivery === 'incode-email' ? { notifyEmail: request.subject.email } : {}),
      }));
  } catch (error) {
    const failure = applicationFailureOf(error);
    const status: VerificationStatus = failure?.type === 'IncodeUserNotFound' ? 'UserNotFound' : 'SessionError';
    const reason = failure?.message ?? (error as Error).message;
    log.warn('No verification session', { status, failureType: failure?.type });
    if (status === 'UserNotFound' && policy.unknownUserPath === 'review') {
      return reviewWithoutSession(`${request.subject.email} is not in the Incode directory (5504)`);
    }
    noLinkReason = reason;
    return finish(status, noLinkReason, escalate('session-error', messages.sessionError(request, status, noLinkReason)));
  }
  // The deadline is known before the link is handed out: the confirmation page's link is valid until then.
  const deadline = Date.now() + policy.timeoutMs;
  state.deadline = new Date(deadline).toISOString();
  let delivery = 'returned to the caller to pass on to the user';
  /** The link e-mail through Microsoft Graph: the confirmation page's link (signed by the activity), or Incode's. */
  const mailLink = (reminder?: number) =>
    sendVerificationEmail({
      fromMailbox: policy.mailFrom!,
      to: request.subject.email,
      displayName: request.subject.displayName ?? profile?.profile.displayName,
      ...(confirmationPage
        ? { expiresAt: state.deadline!, activities: state.activities ?? [] }
        : { verificationUrl: session!.verificationUrl, expiresAt: session!.expiresAt }),
      incidentNumber: request.incidentNumber,
      ...(reminder ? { reminder } : {}),
    });
  const mailsLinks = !request.accountOf && policy.linkDelivery === 'graph-email' && Boolean(policy.mailFrom);
  if (confirmationPage && !request.accountOf && policy.linkDelivery !== 'graph-email')
    delivery = "returned to the caller (as the confirmation page's link) to pass on to the user";
  if (!request.accountOf && policy.linkDelivery === 'incode-email') delivery = `sent to ${request.subject.email} by Incode's email`;
  if (mailsLinks) {
    try {
      await mailLink();
      delivery =
        `emailed to ${request.subject.email} from ${policy.mailFrom} (Microsoft ` +
        `Graph)${confirmationPage ? " as the confirmation page's link" : ''}, and returned to the caller`;
    } catch (error) {
      delivery = `returned to the caller; emailing it failed (${(applicationFailureOf(error) ?? (error as Error)).message})`;
    }
  }

  state.interviewId = session.interviewId;
  state.linkExpiresAt = session.expiresAt;
  setAttribute({ key: InterviewIdAttribute, value: session.interviewId });
  const reportsSessionState = fewerWrites || patched('session-state-search-attribute');
  const reportSessionState = (sessionState: ConfirmedSessionResult['state']) => {
    if (state.lastSessionState === sessionState) return;
    state.lastSessionState = sessionState;
    if (reportsSessionState) setAttribute({ key: SessionStateAttribute, value: sessionState });
  };
  setStatus('AwaitingUser', `Waiting for ${request.subject.email} until ${state.deadline}`);
  const requested = request.accountOf
    ? { kind: 'updated' as const }
    : await commentOnIncident({
        workspace: request.workspace,
        incidentId: request.incidentId,
        commentKey: 'requested',
        message: messages.requested(request, session, state.deadline, delivery),
      });
  if (requested.kind === 'not-found') {
    return finish('IncidentGone', 'The incident no longer exists in Sentinel', async () => 'None', { interviewId: session.interviewId });
  }

  const waited = await waitForDecision({
    request,
    deadline,
    inbox,
    state,
    steering,
    setStatus,
    reportSessionState,
    flushAttributes: progress.flush,
    fewerWrites,
    currentSession: () => session!,
    renewSession: async (reminder) => {
      // An expired link cannot be used any more: a new session (and link) replaces it; results of the old
      // one are ignored from now on.
      session = await createVerificationSession({
        loginHint: request.subject.email,
        incidentId: request.incidentId,
        linkValidityMinutes: policy.linkValidityMinutes,
        // The renewed link reaches the user the way the first one did.
        ...(policy.linkDelivery === 'incode-email' && !request.accountOf ? { notifyEmail: request.subject.email } : {}),
      });
      state.interviewId = session.interviewId;
      state.linkExpiresAt = session.expiresAt;
      setAttribute({ key: InterviewIdAttribute, value: session.interviewId });
      progress.flush();
      return messages.reminder(request, reminder, session, true);
    },
    remind: async (message, reminder) => {
      // Every reminder (and renewed link) goes out through the policy's channel, not only to the incident.
      if (mailsLinks && (fewerWrites || patched('reminders-through-the-channel'))) {
        try {
          await mailLink(reminder);
          message += `\nThe reminder was emailed to ${request.subject.email} from ${policy.mailFrom} (Microsoft Graph).`;
        } catch (error) {
          message += `\nEmailing the reminder failed (${(applicationFailureOf(error) ?? (error as Error)).message}).`;
        }
      }
      for (const incident of incidents) await commentOnIncident({ ...incident, commentKey: `reminder-${reminder}`, message });
    },
    evidence,
    classify: (result) => {
      if (result.state === 'Failed') return 'failure';
      if (identityMismatch(request, result)) return 'other-user';
      return mode() === 'confirm-then-verify' && answer !== 'was-me' ? 'success-before-answer' : 'success';
    },
    answers: () => answers,
  });
  return conclude(waited, session);

  async function conclude(waited: WaitResult, current: VerificationSession | undefined): Promise<VerificationOutcome> {
    const interviewId = current?.interviewId;
    const { decision, confirmed } = waited;
    const evidenceOf = { interviewId, confirmedBy: confirmed?.trigger };
    if (decision.action === 'stop') {
      const cancel = steering.cancel!;
      return finish('Cancelled', `Stopped by ${cancel.requestedBy}: ${cancel.reason}`, leaveAsIs, { interviewId });
    }
    if (decision.action === 'close' && decision.why === 'reviewer-approved') {
      const reason = messages.reviewed(request, steering.review!, interviewId ?? 'none');
      return finish('Verified', reason, close(reason), { interviewId, confirmedBy: 'reviewer' });
    }
    if (decision.action === 'close') {
      const result = confirmed!.result;
      if (policy.profileMatching) {
        // Entra profile matching: a mismatch (or no profile to compare with) goes to a human, never closes.
        const comparison = profile
          ? compareProfile(profile.profile, { ...result.reportedIdentity, email: result.reportedLoginHint })
          : { verdict: 'mismatch' as const, details: ['the Entra profile could not be read'] };
        state.profileMatch = comparison.verdict;
        if (comparison.verdict === 'mismatch') {
          const reviewed = await awaitReview(
            `the verified identity does not match the Entra profile: ${comparison.details.join('; ')}`,
            'success',
            confirmed,
          );
          return conclude(reviewed, current);
        }
      }
      const reason =
        messages.verified(
          request,
          result,
          confirmed!.trigger,
          decision.why === 'confirmed-and-verified' ? state.answer?.answeredAt : undefined,
        ) + (state.profileMatch ? messages.profileMatch(state.profileMatch) : '');
      return finish('Verified', reason, close(reason), evidenceOf);
    }
    switch (decision.why) {
      case 'denied': {
        const reason = messages.denied(request, denial!);
        return finish('Denied', reason, escalate('decision', reason, true), { interviewId });
      }
      case 'not-named-by-sentinel': {
        const reason = messages.notNamedBySentinel(request, interviewId ?? 'none');
        return finish('IdentityMismatch', reason, escalate('decision', reason, true), evidenceOf);
      }
      case 'verified-without-confirmation': {
        const reason = messages.verifiedWithoutConfirmation(request, confirmed!.result, answer === 'was-me');
        return finish('TimedOut', reason, escalate('decision', reason, true), evidenceOf);
      }
      case 'reviewer-rejected': {
        const reason = messages.reviewed(request, steering.review!, interviewId ?? 'none');
        return finish('Failed', reason, escalate('decision', reason, true), { interviewId, confirmedBy: 'reviewer' });
      }
      case 'failed': {
        const reason = messages.failed(request, confirmed!.result, confirmed!.trigger);
        return finish('Failed', reason, escalate('decision', reason, true), evidenceOf);
      }
      case 'other-user': {
        const reason = messages.identityMismatch(request, confirmed!.result, identityMismatch(request, confirmed!.result)!);
        return finish('IdentityMismatch', reason, escalate('decision', reason, true), evidenceOf);
      }
      case 'timed-out': {
        const reason =
          state.status === 'AwaitingReview'
            ? messages.reviewTimedOut(request, state.reviewReason ?? 'review needed')
            : messages.timedOut(request, policy.timeoutMs, state.lastSessionState);
        return finish('TimedOut', reason, escalate('decision', reason, true), { interviewId });
      }
    }
  }
}

interface Steering {
  cancel?: CancelRequest;
  review?: ReviewDecision;
  /** An operator asked to remind the user now. */
  resend?: boolean;
}

/** What waiting ended with: a decision on the evidence (and Incode's confirmed result, if any). */
interface WaitResult {
  kind: 'decided';
  decision: Exclude<Decision, { action: 'wait' }>;
  confirmed?: { result: ConfirmedSessionResult; trigger: Trigger };
}

interface WaitContext {
  request: VerificationRequest;
  deadline: number;
  inbox: IncodeSessionEvent[];
  state: VerificationState;
  steering: Steering;
  setStatus: (status: VerificationStatus, details: string) => void;
  reportSessionState: (sessionState: ConfirmedSessionResult['state']) => void;
  /** Writes the search attributes set since the last status change (a read-back's session state). */
  flushAttributes: () => void;
  /** The version since `patched('two-writes-per-verdict')`: see identityVerification. */
  fewerWrites: boolean;
  currentSession: () => VerificationSession;
  /** Creates a new session when the link expired; returns the reminder comment. */
  renewSession: (reminder: number) => Promise<string>;
  remind: (message: string, reminder: number) => Promise<void>;
  /** The evidence for the decision, given what Incode confirmed and whether the deadline passed. */
  evidence: (incode: IncodeEvidence, deadlinePassed: boolean) => DecisionEvidence;
  /** What a final result read back from Incode is evidence of. */
  classify: (result: ConfirmedSessionResult) => IncodeEvidence;
  /** Counts the user's answers, so a new one wakes the wait. */
  answers: () => number;
}

/**
 * Waits until Incode confirms a final result, a reviewer decides, an analyst cancels, or the deadline
 * passes. Wakes on a webhook (read back at once) or on a poll timer that slows down while nothing changes
 * (in case the webhook was lost), reminds the user on schedule, and reads back one last time at the
 * deadline so a user who finished at the last minute is not escalated.
 */
async function waitForDecision(ctx: WaitContext): Promise<WaitResult> {
  const { request, inbox, state, steering } = ctx;
  const { policy } = request;
  const pollIntervalMs = policy.pollIntervalMs;
  const reminderInterval = policy.reminderIntervalMs ?? 0;
  let deadline = ctx.deadline;
  let pollDelay = pollIntervalMs;
  let nextReminder = reminderInterval > 0 ? Date.now() + reminderInterval : Infinity;
  state.remindersSent = reminderInterval > 0 ? 0 : undefined;
  let incode: IncodeEvidence = 'none';
  let confirmed: WaitResult['confirmed'];
  let answersSeen = ctx.answers();
  const steered = () => steering.cancel !== undefined || steering.review !== undefined;
  const answered = () => ctx.answers() !== answersSeen;
  /** The decision on what is known now, unless it is to keep waiting. */
  const settle = (deadlinePassed: boolean): WaitResult | undefined => {
    answersSeen = ctx.answers();
    const decision = decide(ctx.evidence(incode, deadlinePassed));
    return decision.action === 'wait' ? undefined : { kind: 'decided', decision, confirmed };
  };
  // An answer given before the wait began ("This wasn't me" while the "requested" comment was being written)
  // decides now, not at the next poll.
  if (ctx.fewerWrites) {
    const already = settle(false);
    if (already) return already;
  }
  for (;;) {
    const remaining = deadline - Date.now();
    const untilReminder = state.status === 'AwaitingReview' ? Infinity : nextReminder - Date.now();
    const woken =
      steered() ||
      answered() ||
      (remaining > 0 &&
        (await condition(
          () => inbox.length > 0 || steered() || steering.resend === true || answered(),
          Math.min(pollDelay, remaining, Math.max(untilReminder, 1)),
        )));
    const early = settle(false);
    if (early) return early;
    let trigger: Trigger = 'poll';
    const resendNow = steering.resend === true && state.status === 'AwaitingUser';
    steering.resend = false;
    if (woken && inbox.length === 0 && !resendNow) continue;
    if (woken && !resendNow) {
      const events = inbox.splice(0);
      const interviewId = ctx.currentSession().interviewId;
      // An event naming another interview (an older session, or a forged call) is no reason to act.
      const relevant = events.filter((event) => !event.interviewId || event.interviewId === interviewId);
      state.ignoredEvents += events.length - relevant.length;
      if (relevant.length === 0) continue;
      trigger = 'webhook+read-back';
    } else if (resendNow || (Date.now() >= nextReminder && Date.now() < deadline)) {
      const reminder = (state.remindersSent ?? 0) + 1;
      state.remindersSent = reminder;
      if (!resendNow) nextReminder = reminder < (policy.maxReminders ?? 0) ? Date.now() + reminderInterval : Infinity;
      const expired = Date.parse(ctx.currentSession().expiresAt) <= Date.now();
      const message = expired ? await ctx.renewSession(reminder) : messages.reminder(request, reminder, ctx.currentSession(), false);
      await ctx.remind(message, reminder);
      continue;
    } else {
      pollDelay = Math.min(pollDelay * POLL_BACKOFF, pollIntervalMs * POLL_MAX_MULTIPLE);
    }
    const readStartedAt = Date.now();
    // Once Incode confirmed a final result there is nothing more to read: only the user's answer, a person
    // or the deadline can still change the decision.
    if (incode === 'none') {
      let result: ConfirmedSessionResult | undefined;
      try {
        result = await readSessionResult(ctx.currentSession().interviewId);
      } catch (error) {
        log.warn('Could not read the session back from Incode; will try again', { error: (error as Error).message });
      }
      if (result) {
        state.lastCheckedAt = result.checkedAt;
        ctx.reportSessionState(result.state);
        if (result.state === 'Succeeded' || result.state === 'Failed') {
          incode = ctx.classify(result);
          confirmed = { result, trigger };
          const now = settle(false);
          if (now) return now;
        }
        if (result.state === 'PendingReview' && state.status !== 'AwaitingReview' && state.status !== 'PendingReview') {
          if (policy.reviewTimeoutMs) {
            // A human now decides (Incode's reviewers, or ours through the gateway), on their own clock.
            deadline = Date.now() + policy.reviewTimeoutMs;
            state.reviewReason = 'Incode routed the session to manual review';
            state.reviewDeadline = new Date(deadline).toISOString();
            ctx.setStatus('AwaitingReview', `${state.reviewReason}; a reviewer decides before ${state.reviewDeadline}`);
          } else {
            ctx.setStatus('PendingReview', 'Incode routed the session to manual review');
          }
        }
      }
      // The session state goes out with the decision's status when one follows; otherwise now.
      ctx.flushAttributes();
    }
    if (Date.now() >= deadline) {
      // A read that began before the deadline (and was slow, e.g. its worker died) may predate the user's
      // completion: read once more before escalating.
      if (incode === 'none' && readStartedAt < deadline && (ctx.fewerWrites || patched('read-again-after-a-read-straddling-the-deadline')))
        continue;
      const atDeadline = settle(true);
      if (atDeadline) return atDeadline;
    }
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

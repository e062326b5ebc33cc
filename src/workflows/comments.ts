import type {
  ConfirmedSessionResult,
  IncidentVerificationRequest,
  VerificationOutcome,
  LinkedIncident,
  ReviewDecision,
  ConfirmedSessionState,
  UserAnswerInput,
  VerificationRequest,
  VerificationSession,
  VerificationStatus,
  VerificationSubject,
} from '../shared/types';

/**
 * The audit trail an analyst reads on the incident. Every comment names the user, the Incode interview
 * and how the result was established, so a decision can be followed without opening Temporal.
 * Links and secrets never go into comments.
 */
const PREFIX = '[itdr-verify]';

export function describeSubject(subject: VerificationSubject): string {
  return subject.displayName ? `${subject.displayName} <${subject.email}>` : subject.email;
}

function howConfirmed(trigger: 'webhook+read-back' | 'poll'): string {
  return trigger === 'poll'
    ? 'found by a scheduled read-back from Incode (no webhook was needed)'
    : "Incode's session webhook, confirmed by reading the session back from Incode";
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

export const messages = {
  requested(
    request: VerificationRequest,
    session: VerificationSession,
    deadline: string,
    delivery = 'returned to the caller to pass on to the user',
  ): string {
    return [
      `${PREFIX} Identity verification requested for ${describeSubject(request.subject)}.`,
      `Requested by: ${request.requestedBy} at ${new Date().toISOString()}.` +
        (request.policy.policyName && request.policy.policyName !== 'defaults' ? ` Policy: ${request.policy.policyName}.` : ''),
      `Incode interview id: ${session.interviewId}. The link is valid until ${session.expiresAt} and was ${delivery}.`,
      `If the user has not verified by ${deadline}, this incident will be escalated.`,
    ].join('\n');
  },

  joined(request: VerificationRequest, linked: LinkedIncident, session: VerificationSession, deadline: string): string {
    return [
      `${PREFIX} Identity verification requested for ${describeSubject(request.subject)}: this incident joined the verification ` +
        `already running for incident ${request.incidentNumber ?? request.incidentId}.`,
      `Requested by: ${linked.requestedBy} at ${new Date().toISOString()}.`,
      `Incode interview id: ${session.interviewId}; the same link (valid until ${session.expiresAt}) applies. Its outcome will ` +
        `be applied to this incident too; deadline ${deadline}.`,
    ].join('\n');
  },

  requestedAccounts(
    request: IncidentVerificationRequest,
    accounts: Array<{ user: string; session: VerificationSession }>,
    deadline: string,
  ): string {
    return [
      `${PREFIX} Identity verification requested for the ${accounts.length} accounts of this incident.`,
      `Requested by: ${request.requestedBy} at ${new Date().toISOString()}.`,
      ...accounts.map(
        (account) => `- ${account.user}: Incode interview ${account.session.interviewId}, link valid until ${account.session.expiresAt}`,
      ),
      `The links were returned to the caller to pass on. The incident closes only when every account is verified, and is ` +
        `escalated as soon as one is not; deadline ${deadline}.`,
    ].join('\n');
  },

  accountsVerified(request: IncidentVerificationRequest, accounts: Array<{ user: string; outcome: VerificationOutcome }>): string {
    return [
      `${PREFIX} Every account of this incident passed the biometric identity verification:`,
      ...accounts.map(
        (account) =>
          `- ${account.user}: interview ${account.outcome.interviewId ?? 'n/a'}, confirmed by ` +
          `${account.outcome.confirmedBy ?? 'n/a'} at ${account.outcome.decidedAt}`,
      ),
      `Closing as ${request.policy.closeClassification} / ${request.policy.closeClassificationReason}.`,
    ].join('\n');
  },

  accountsFailed(request: IncidentVerificationRequest, failed: Array<{ user: string; status: string; reason: string }>): string {
    return [
      `${PREFIX} Not every account of this incident could be verified:`,
      ...failed.map((account) => `- ${account.user}: ${account.status}. ${account.reason.replace(/^\[itdr-verify\] /, '')}`),
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}"; the other ` +
        `accounts' verifications were stopped.`,
    ].join('\n');
  },

  reminder(request: VerificationRequest, reminder: number, session: VerificationSession, renewed: boolean): string {
    return [
      `${PREFIX} Reminder ${reminder}: ${describeSubject(request.subject)} has not completed the identity verification yet.`,
      renewed
        ? `The previous link had expired: a new Incode session (interview ${session.interviewId}) was created, valid until ` +
          `${session.expiresAt}. Repeat the original request to the gateway to get the new link.`
        : `The link (interview ${session.interviewId}) stays valid until ${session.expiresAt}; please remind the user.`,
    ].join('\n');
  },

  reviewed(request: VerificationRequest, review: ReviewDecision, interviewId: string): string {
    const verdict = review.decision === 'approve' ? 'APPROVED' : 'REJECTED';
    return [
      `${PREFIX} Manual review ${verdict} by ${review.reviewer} for ${describeSubject(request.subject)} (Incode interview ${interviewId}).`,
      review.note ? `Reviewer's note: ${review.note}` : '',
      review.decision === 'approve'
        ? `Closing as ${request.policy.closeClassification} / ${request.policy.closeClassificationReason}.`
        : `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}".`,
    ]
      .filter(Boolean)
      .join('\n');
  },

  reviewTimedOut(request: VerificationRequest, why: string): string {
    return [
      `${PREFIX} The verification of ${describeSubject(request.subject)} needed a manual review (${why}) and no reviewer decided in time.`,
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}".`,
    ].join('\n');
  },

  identityMismatch(request: VerificationRequest, result: ConfirmedSessionResult, mismatch: string): string {
    return [
      `${PREFIX} The biometric check of interview ${result.interviewId} passed, but it cannot be bound to ` +
        `${describeSubject(request.subject)}: ${mismatch}.`,
      `Confirmed at ${result.checkedAt}. Not closing: escalated to ${request.policy.escalationSeverity} severity and labelled ` +
        `"${request.policy.failureLabel}" for an analyst to review.`,
    ].join('\n');
  },

  confirmedActivity(request: VerificationRequest, answer: UserAnswerInput): string {
    return [
      `${PREFIX} ${describeSubject(request.subject)} answered "This was me" on the confirmation page at ${answer.answeredAt}: ` +
        `they confirm the activity of this incident, and go on to the identity check.`,
      `Answered from IP address ${answer.clientIp}, user agent: ${answer.userAgent.slice(0, 300) || 'none'}.`,
    ].join('\n');
  },

  denied(request: VerificationRequest, answer: UserAnswerInput): string {
    return [
      `${PREFIX} ${describeSubject(request.subject)} denied the activity: the user answered "This wasn't me" on the ` +
        `confirmation page at ${answer.answeredAt}.`,
      `Answered from IP address ${answer.clientIp}, user agent: ${answer.userAgent.slice(0, 300) || 'none'}.`,
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}": treat the ` +
        `sign-in as a compromise. A later identity check changes nothing.`,
    ].join('\n');
  },

  notNamedBySentinel(request: VerificationRequest, interviewId: string): string {
    return [
      `${PREFIX} The verification of ${describeSubject(request.subject)} (Incode interview ${interviewId}) cannot close this ` +
        `incident: the user was not established as one of the incident's accounts in Sentinel (the verification started before ` +
        `that check existed, or the caller named the user).`,
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}" for an analyst to review.`,
    ].join('\n');
  },

  verifiedWithoutConfirmation(request: VerificationRequest, result: ConfirmedSessionResult, answeredLater: boolean): string {
    return [
      `${PREFIX} ${describeSubject(request.subject)} passed the identity check (Incode interview ${result.interviewId}, ` +
        `confirmed at ${result.checkedAt}) without first confirming the incident's activity on the confirmation ` +
        `page${answeredLater ? ' (they answered "This was me" only afterwards)' : ''}.`,
      'A passed check proves who the person is, not that the sign-in was theirs: not closing.',
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}" for an analyst ` +
        `to follow up.`,
    ].join('\n');
  },

  verified(
    request: VerificationRequest,
    result: ConfirmedSessionResult,
    trigger: 'webhook+read-back' | 'poll',
    confirmedActivityAt?: string,
  ): string {
    return [
      confirmedActivityAt
        ? `${PREFIX} ${describeSubject(request.subject)} confirmed the activity ("This was me", at ${confirmedActivityAt}) and ` +
          `then passed the biometric identity verification. Mode: confirmation page, then Incode.`
        : `${PREFIX} ${describeSubject(request.subject)} passed the biometric identity verification. Mode: direct Incode link ` +
          `(the user did not confirm the activity).`,
      `Incode interview ${result.interviewId}: onboarding status ${result.onboardingStatus}, score ` +
        `${result.scoreStatus ?? 'n/a'}, confirmed at ${result.checkedAt}; ${howConfirmed(trigger)}.`,
      `Closing as ${request.policy.closeClassification} / ${request.policy.closeClassificationReason}.`,
    ].join('\n');
  },

  failed(request: VerificationRequest, result: ConfirmedSessionResult, trigger: 'webhook+read-back' | 'poll'): string {
    return [
      `${PREFIX} ${describeSubject(request.subject)} FAILED the biometric identity verification.`,
      `Incode interview ${result.interviewId}: onboarding status ${result.onboardingStatus}, score ` +
        `${result.scoreStatus ?? 'n/a'}, confirmed at ${result.checkedAt}; ${howConfirmed(trigger)}.`,
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}": treat the ` +
        `sign-in as a possible compromise.`,
    ].join('\n');
  },

  timedOut(request: VerificationRequest, timeoutMs: number, lastState: ConfirmedSessionState | undefined): string {
    const progress =
      lastState === 'NotStarted' || lastState === undefined ? 'The link was never opened.' : `Last state reported by Incode: ${lastState}.`;
    return [
      `${PREFIX} ${describeSubject(request.subject)} did not complete the identity verification within ${formatDuration(timeoutMs)}.`,
      progress,
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}" for an analyst ` +
        `to follow up.`,
    ].join('\n');
  },

  sessionError(request: VerificationRequest, status: VerificationStatus, reason: string): string {
    const headline =
      status === 'UserNotFound'
        ? `${describeSubject(request.subject)} is not in the Incode integration's directory, so no verification link could be created.`
        : `No verification session could be created for ${describeSubject(request.subject)}.`;
    return [
      `${PREFIX} ${headline}`,
      `Reason: ${reason}`,
      `Escalated to ${request.policy.escalationSeverity} severity and labelled "${request.policy.failureLabel}": an analyst ` +
        `must verify this user another way.`,
    ].join('\n');
  },

  reviewRequested(request: VerificationRequest, why: string, deadline: string): string {
    return [
      `${PREFIX} The verification of ${describeSubject(request.subject)} needs a manual review: ${why}.`,
      `A reviewer approves or rejects it (POST /api/incidents/{id}/review, or the CLI) before ${deadline}; otherwise the ` +
        `incident is escalated.`,
    ].join('\n');
  },

  remediation(results: Array<{ action: string; result: string; reason?: string }>): string {
    const label: Record<string, string> = { revokeSessions: 'revoke sign-in sessions', disableAccount: 'disable the account' };
    return (
      `\nRemediation (Microsoft Graph): ` +
      `${results
        .map((entry) => `${label[entry.action] ?? entry.action}: ${entry.result}${entry.reason ? ` (${entry.reason})` : ''}`)
        .join('; ')}.`
    );
  },

  remediationFailed(reason: string): string {
    return `\nRemediation (Microsoft Graph) failed: ${reason}. Remediate manually.`;
  },

  profileMatch(verdict: 'match' | 'mismatch' | 'not-comparable'): string {
    return verdict === 'match'
      ? '\nEntra profile matching: the verified document matches the Entra profile.'
      : '\nEntra profile matching: not comparable (Incode reported no name); the session is bound to the user by its login hint.';
  },

  /** A close's classification comment when the whole audit does not fit in it: its start, and where the rest is. */
  auditInComment(audit: string, limit: number): string {
    const pointer = `\n${PREFIX} The full audit is in this verification's decision comment on the incident.`;
    return `${audit.slice(0, Math.max(0, limit - pointer.length - 1)).trimEnd()}…${pointer}`;
  },

  analystAlreadyClosed(classification: string | undefined): string {
    return (
      `\nThe incident had already been closed by an analyst${classification ? ` as ${classification}` : ''}; its status and ` +
      `classification were left as they were.`
    );
  },
};

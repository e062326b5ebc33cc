/**
 * The product's decision rule, as one pure function of the evidence a verification has gathered. The
 * workflow collects the evidence and acts on the answer; every rule lives here, so it can be read (and
 * table-tested, test/unit/decision.test.ts) in one place.
 *
 * The rule: an incident closes only when its own user — named by Sentinel's entities, never by the caller —
 * answered "This was me" on the confirmation page and then passed Incode's check, confirmed by reading the
 * session back. "This wasn't me" escalates at once and always wins. Anything in doubt escalates at the
 * deadline.
 */

/** The user's answer on the confirmation page ("was this you?"). */
export type UserAnswer = 'none' | 'was-me' | 'wasnt-me';

/**
 * Incode's result as read back (never a webhook's claim). `success-before-answer`: the check passed while
 * the user had not yet answered the page, so it does not show that the user saw the activity.
 * `other-user`: it passed, but Incode reports it belongs to another user or incident.
 */
export type IncodeEvidence = 'none' | 'success' | 'success-before-answer' | 'failure' | 'other-user';

/** What a person at the SOC did: nothing, stopped the verification, or decided a review. */
export type AnalystEvidence = 'none' | 'stopped' | 'approved' | 'rejected';

/**
 * `confirm-then-verify` (the default): the user confirms the activity on the page, then Incode's check.
 * `incode-only`: the seed's direct link to Incode (policy `verificationLink: incode-direct`, weaker: a passed
 * check proves who the person is, not that the sign-in was theirs); also how verifications that started
 * before this rule existed are replayed.
 */
export type DecisionMode = 'confirm-then-verify' | 'incode-only';

export interface DecisionEvidence {
  /** The verified user is one of the incident's account entities as Sentinel holds them. */
  subjectNamedBySentinel: boolean;
  answer: UserAnswer;
  incode: IncodeEvidence;
  analyst: AnalystEvidence;
  deadlinePassed: boolean;
  mode: DecisionMode;
}

export type CloseReason = 'confirmed-and-verified' | 'verified' | 'reviewer-approved';
export type EscalationReason =
  'denied' | 'failed' | 'other-user' | 'not-named-by-sentinel' | 'verified-without-confirmation' | 'reviewer-rejected' | 'timed-out';

export type Decision =
  { action: 'wait' } | { action: 'stop' } | { action: 'close'; why: CloseReason } | { action: 'escalate'; why: EscalationReason };

export function decide(evidence: DecisionEvidence): Decision {
  const { answer, incode, analyst, mode } = evidence;
  // An analyst who stopped the verification handled the incident: nothing more is changed.
  if (analyst === 'stopped') return { action: 'stop' };
  // A denial wins over everything the verification could still learn.
  if (answer === 'wasnt-me') return { action: 'escalate', why: 'denied' };
  if (analyst === 'rejected') return { action: 'escalate', why: 'reviewer-rejected' };
  if (incode === 'failure') return { action: 'escalate', why: 'failed' };
  if (incode === 'other-user') return { action: 'escalate', why: 'other-user' };
  const passed = incode === 'success' || incode === 'success-before-answer';
  if ((passed || analyst === 'approved') && !evidence.subjectNamedBySentinel) return { action: 'escalate', why: 'not-named-by-sentinel' };
  // A reviewer is the human in the loop: their approval stands in for Incode's result, not for the user's denial.
  if (analyst === 'approved') return { action: 'close', why: 'reviewer-approved' };
  if (passed && mode === 'incode-only') return { action: 'close', why: 'verified' };
  if (incode === 'success' && answer === 'was-me') return { action: 'close', why: 'confirmed-and-verified' };
  // The check passed before the user confirmed the activity: the session is spent, and nothing shows the
  // user saw what they would be vouching for.
  if (incode === 'success-before-answer' && answer === 'was-me') return { action: 'escalate', why: 'verified-without-confirmation' };
  if (evidence.deadlinePassed) return { action: 'escalate', why: passed ? 'verified-without-confirmation' : 'timed-out' };
  return { action: 'wait' };
}

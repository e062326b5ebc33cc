/**
 * Types that cross the gateway / workflow / activity boundaries. Everything here travels through
 * Temporal payloads, so it must stay plain JSON: no classes, no Dates, no secrets.
 */

export const INCIDENT_SEVERITIES = ['High', 'Medium', 'Low', 'Informational'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

export const CLOSE_CLASSIFICATIONS = {
  FalsePositive: ['IncorrectAlertLogic', 'InaccurateData'],
  BenignPositive: ['SuspiciousButExpected'],
} as const;
export type CloseClassification = keyof typeof CLOSE_CLASSIFICATIONS;
export type CloseClassificationReason = (typeof CLOSE_CLASSIFICATIONS)[CloseClassification][number];

/** A Sentinel (Log Analytics) workspace, as ARM addresses it. */
export interface WorkspaceRef {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
}

/** The person whose sign-in is in doubt. `email` is what Incode knows them by (its `loginHint`). */
export interface VerificationSubject {
  email: string;
  upn?: string;
  aadUserId?: string;
  displayName?: string;
}

/** What the workflow does and how long it waits; resolved from configuration by the gateway at start. */
export interface VerificationPolicy {
  /** How long the user has to finish the biometric check before the incident is escalated. */
  timeoutMs: number;
  /** How often the workflow reads the session back from Incode while waiting, in case a webhook is lost. */
  pollIntervalMs: number;
  linkValidityMinutes: number;
  closeClassification: CloseClassification;
  closeClassificationReason: CloseClassificationReason;
  escalationSeverity: IncidentSeverity;
  /** Label added to an escalated incident so analysts can filter on it. */
  failureLabel: string;
  /**
   * A new incident for a user whose verification started less than this long ago joins it (one link, one
   * decision for all). 0 or absent: every incident gets its own verification.
   */
  joinWindowMs?: number;
  /** How long a human reviewer has once a verification needs review; absent: the verification deadline applies. */
  reviewTimeoutMs?: number;
  /** Remind (and renew an expired link) every this long while the user has not finished; 0 or absent: never. */
  reminderIntervalMs?: number;
  maxReminders?: number;
  /** Microsoft Graph actions on a failed or timed-out verification (opt-in). */
  remediation?: Array<'revokeSessions' | 'disableAccount'>;
  /** How the link reaches the user: returned to the caller (default), Incode's email, or a Graph email. */
  linkDelivery?: 'caller' | 'incode-email' | 'graph-email';
  mailFrom?: string;
  /** A user Incode does not know (5504): escalate (default) or ask a human. */
  unknownUserPath?: 'escalate' | 'review';
  /** A guest (B2B) account: escalate, ask a human, or verify like a member. */
  guestUserPath?: 'escalate' | 'review' | 'verify';
  /**
   * `confirmation-page` (default): the link is the gateway's page where the user confirms the activity
   * ("This was me" / "This wasn't me") before Incode's check. `incode-direct`: the seed's link straight to
   * Incode; weaker, since a passed check proves who the person is, not that the sign-in was theirs.
   */
  verificationLink?: 'confirmation-page' | 'incode-direct';
  /** Compare the verified identity with the Entra profile before closing; a mismatch goes to review. */
  profileMatching?: boolean;
  /** Which policy rules applied, for the audit comment and the search attribute. */
  policyName?: string;
  /** Rules that depend on the user's Entra groups; the workflow applies them after reading the profile. */
  groupRules?: Array<{ name: string; groups: string[]; set: Partial<Omit<VerificationPolicy, 'groupRules' | 'policyName'>> }>;
}

export type IncidentSource = 'simple' | 'sentinel-playbook';

/**
 * The activity a user is asked to confirm ("was this you?"), as Sentinel holds it: the incident's title and,
 * from its alerts and entities, when, from which IP address and location, to which application with which
 * client, and on which device. Empty lists where Sentinel has nothing.
 */
export interface IncidentActivity {
  incidentId: string;
  incidentNumber?: number;
  title?: string;
  /** ISO date-time of the earliest alert. */
  time?: string;
  alerts: string[];
  ipAddresses: string[];
  locations: string[];
  applications: string[];
  clients: string[];
  devices: string[];
}

/** Who the user's answer on the confirmation page was. */
export type ActivityAnswer = 'was-me' | 'wasnt-me';

/** The user's answer, as the gateway's confirmation page hands it to the workflow. */
export interface UserAnswerInput {
  answer: ActivityAnswer;
  /** The user the signed link was issued to (must be the verification's own). */
  user: string;
  answeredAt: string;
  clientIp: string;
  userAgent: string;
}

/** What the workflow tells the page: go on to Incode's check (was me), or the answer was recorded (wasn't me). */
export type UserAnswerResult = { kind: 'continue'; verificationUrl: string } | { kind: 'recorded' };

/** Input of the `identityVerification` workflow. */
export interface VerificationRequest {
  incidentId: string;
  incidentNumber?: number;
  incidentTitle?: string;
  incidentSeverity?: IncidentSeverity;
  workspace: WorkspaceRef;
  subject: VerificationSubject;
  source: IncidentSource;
  /** Who asked for it (the authenticated caller of the gateway), for the audit comment. */
  requestedBy: string;
  policy: VerificationPolicy;
  /**
   * `sentinel`: the subject is one of the incident's account entities, read by the gateway with its own
   * identity. Absent in verifications started before that check: they can never close on their own.
   */
  subjectNamedBy?: 'sentinel';
  /** The activity the user confirms on the page (absent before the page existed). */
  activity?: IncidentActivity;
  /**
   * Set when this verification checks one account of a multi-account incident: the incident workflow
   * created the session and decides on the incident; this one only confirms the account's result.
   */
  accountOf?: { parentWorkflowId: string; session: VerificationSession };
}

/** Input of the `incidentVerification` workflow: an incident that names several accounts. */
export interface IncidentVerificationRequest extends Omit<VerificationRequest, 'subject' | 'accountOf'> {
  subjects: VerificationSubject[];
}

export interface AccountLink {
  user: string;
  interviewId: string;
  verificationUrl: string;
  expiresAt: string;
}

/**
 * Where a verification stands. `AwaitingUser` and `AwaitingResult` are the states an operator looks for
 * when hunting stuck verifications; the others are final.
 */
export const VERIFICATION_STATUSES = [
  'CreatingSession',
  'AwaitingUser',
  'PendingReview',
  'Verified',
  'Failed',
  'TimedOut',
  'UserNotFound',
  'SessionError',
  'IncidentGone',
  'IdentityMismatch',
  'AwaitingReview',
  'Cancelled',
  'GuestUser',
  'Denied',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** Session state as Incode reports it when read back; the only evidence a decision is made on. */
export type ConfirmedSessionState = 'NotStarted' | 'InProgress' | 'Succeeded' | 'Failed' | 'PendingReview';

export interface ConfirmedSessionResult {
  interviewId: string;
  state: ConfirmedSessionState;
  /** Raw Incode values, kept for the audit comment. */
  onboardingStatus: string;
  scoreStatus?: string;
  /** Whom and which incident Incode says the session belongs to, when it says so. */
  reportedLoginHint?: string;
  reportedExternalCustomerId?: string;
  /** Name and birth date from the verified document, when Incode reports them. */
  reportedIdentity?: { firstName?: string; lastName?: string; birthDate?: string };
  checkedAt: string;
}

/** What Incode's session webhook said, as the gateway passes it on. It is a wake-up call, not evidence. */
export interface IncodeSessionEvent {
  eventType: string;
  interviewId?: string;
  externalCustomerId?: string;
  receivedAt: string;
}

export interface VerificationSession {
  interviewId: string;
  /** Only ever in encrypted payloads and the gateway's answer; never in logs or search attributes. */
  verificationUrl: string;
  expiresAt: string;
}

/** The answer of the `verificationLink` update: the link, or why there is none. */
export type VerificationLinkResult =
  | {
      kind: 'link';
      interviewId: string;
      verificationUrl: string;
      expiresAt: string;
      status: VerificationStatus;
      /** Multi-account incidents: one link per account (the fields above are the first account's). */
      accounts?: AccountLink[];
      /**
       * The user confirms the activity on the gateway's page before Incode's check: the caller gets the
       * page's signed link, valid until `deadline`, instead of Incode's. Absent in older verifications.
       */
      confirmationPage?: boolean;
      deadline?: string;
    }
  | { kind: 'no-link'; status: VerificationStatus; reason: string };

export type IncidentAction = 'Closed' | 'Escalated' | 'CommentedOnly' | 'None';

/** The workflow's result. */
export interface VerificationOutcome {
  status: VerificationStatus;
  reason: string;
  incidentAction: IncidentAction;
  interviewId?: string;
  decidedAt: string;
  /** How the deciding result was obtained: the webhook triggered a read-back, or a scheduled poll found it. */
  confirmedBy?: 'webhook+read-back' | 'poll' | 'reviewer';
  /** Every incident the decision was applied to, the verification's own first (absent in v1 histories). */
  incidents?: IncidentDecision[];
}

/** An analyst closed or deleted the incident, or asked to stop: the verification ends and changes nothing. */
export interface CancelRequest {
  reason: string;
  requestedBy: string;
}

/** A human reviewer's decision on a verification awaiting review. */
export interface ReviewDecision {
  decision: 'approve' | 'reject';
  reviewer: string;
  note?: string;
}

/** Another incident of the same user that joined a running verification. */
export interface LinkedIncident {
  incidentId: string;
  /** Must be the verification's own user; anything else is refused. */
  userEmail: string;
  incidentNumber?: number;
  workspace: WorkspaceRef;
  requestedBy: string;
  activity?: IncidentActivity;
}

/** The result of the incidents a verification decided on, the first one being its own. */
export interface IncidentDecision {
  incidentId: string;
  action: IncidentAction;
}

/** The `status` query. */
export interface VerificationState {
  status: VerificationStatus;
  incidentId: string;
  workspace: WorkspaceRef;
  user: string;
  interviewId?: string;
  linkExpiresAt?: string;
  deadline?: string;
  lastCheckedAt?: string;
  lastSessionState?: ConfirmedSessionState;
  ignoredEvents: number;
  /** Incidents of the same user that joined this verification. */
  linkedIncidents?: string[];
  remindersSent?: number;
  /** Multi-account incidents: where each account stands. */
  accounts?: Array<{ user: string; interviewId?: string; status: VerificationStatus }>;
  /** Which policy rules applied (after the user's groups were known). */
  policyName?: string;
  /** Entra profile matching verdict, when the policy asks for it. */
  profileMatch?: 'match' | 'mismatch' | 'not-comparable';
  /** The activities the user confirms on the page: the verification's own incident first, then joined ones. */
  activities?: IncidentActivity[];
  /** The user's answer on the confirmation page, once given. */
  answer?: { answer: ActivityAnswer; answeredAt: string };
  /** Whether the user confirms the activity on the gateway's page (false: the seed's direct Incode link). */
  confirmationPage?: boolean;
  /** Why the verification needs a human, while it is AwaitingReview. */
  reviewReason?: string;
  reviewDeadline?: string;
  outcome?: VerificationOutcome;
}

/** What the incident activities report back about the change they made. */
export type IncidentUpdateResult = { kind: 'updated' } | { kind: 'already-closed'; classification?: string } | { kind: 'not-found' };

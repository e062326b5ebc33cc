import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  CancelRequest,
  IncodeSessionEvent,
  LinkedIncident,
  ReviewDecision,
  UserAnswerInput,
  UserAnswerResult,
  VerificationLinkResult,
  VerificationState,
} from './types';

/** Incode's session webhook, forwarded by the gateway. */
export const verificationResultSignal = defineSignal<[IncodeSessionEvent]>('verificationResult');

/** Waits until the Incode session exists (or cannot) and returns its link; used with Update-With-Start. */
export const verificationLinkUpdate = defineUpdate<VerificationLinkResult>('verificationLink');

/**
 * Adds another incident of the same user to a running verification and returns its link. Refused (the
 * validator throws) once the verification is deciding or done: the caller then starts a new one.
 */
export const joinVerificationUpdate = defineUpdate<VerificationLinkResult, [LinkedIncident]>('joinVerification');

/** Stops a waiting verification without touching the incident (an analyst closed or deleted it). */
export const cancelVerificationSignal = defineSignal<[CancelRequest]>('cancelVerification');

/**
 * Reminds the user now (an operator's "resend"): a reminder comment, and a new Incode session when the
 * link has expired. Fetch the current link afterwards with the `verificationLink` update.
 */
export const resendLinkSignal = defineSignal<[{ requestedBy: string }]>('resendLink');

/** A reviewer approves or rejects a verification that awaits review; refused in any other state. */
export const reviewDecisionUpdate = defineUpdate<VerificationState, [ReviewDecision]>('reviewDecision');

/**
 * The user's answer on the confirmation page. "This was me" is recorded on the incident and answered with
 * the Incode link to go on to; "This wasn't me" escalates at once. Refused once the verification decided,
 * after a denial, or when it has no confirmation page.
 */
export const userAnswerUpdate = defineUpdate<UserAnswerResult, [UserAnswerInput]>('userAnswer');

export const statusQuery = defineQuery<VerificationState>('status');

export const WORKFLOW_TYPE = 'identityVerification';
export const WORKFLOW_TYPES = { user: WORKFLOW_TYPE, incident: 'incidentVerification' } as const;

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IncodeSessionEvent, LinkedIncident, VerificationLinkResult, VerificationState } from './types';

/** Incode's session webhook, forwarded by the gateway. */
export const verificationResultSignal = defineSignal<[IncodeSessionEvent]>('verificationResult');

/** Waits until the Incode session exists (or cannot) and returns its link; used with Update-With-Start. */
export const verificationLinkUpdate = defineUpdate<VerificationLinkResult>('verificationLink');

/**
 * Adds another incident of the same user to a running verification and returns its link. Refused (the
 * validator throws) once the verification is deciding or done: the caller then starts a new one.
 */
export const joinVerificationUpdate = defineUpdate<VerificationLinkResult, [LinkedIncident]>('joinVerification');

export const statusQuery = defineQuery<VerificationState>('status');

export const WORKFLOW_TYPE = 'identityVerification';

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IncodeSessionEvent, VerificationLinkResult, VerificationState } from './types';

/** Incode's session webhook, forwarded by the gateway. */
export const verificationResultSignal = defineSignal<[IncodeSessionEvent]>('verificationResult');

/** Waits until the Incode session exists (or cannot) and returns its link; used with Update-With-Start. */
export const verificationLinkUpdate = defineUpdate<VerificationLinkResult>('verificationLink');

export const statusQuery = defineQuery<VerificationState>('status');

export const WORKFLOW_TYPE = 'identityVerification';

import { ApplicationFailure } from '@temporalio/common';
import type { IncodeClient } from '../clients/incode-client';
import { IncodeApiError } from '../clients/incode-errors';
import type { ConfirmedSessionResult, VerificationSession } from '../shared/types';

export interface CreateVerificationSessionInput {
  loginHint: string;
  incidentId: string;
  linkValidityMinutes: number;
  /** Ask Incode to email the link to this address itself. */
  notifyEmail?: string;
}

/** Failure types the workflow branches on; also what an operator sees in the Web UI. */
export const IncodeFailureType = {
  UserNotFound: 'IncodeUserNotFound',
  ApiVersionRejected: 'IncodeApiVersionRejected',
  CredentialsRejected: 'IncodeCredentialsRejected',
  Refused: 'IncodeRequestRefused',
} as const;

export function createIncodeActivities(incode: IncodeClient) {
  return {
    async createVerificationSession(input: CreateVerificationSessionInput): Promise<VerificationSession> {
      const started = Date.now();
      try {
        const session = await incode.createSession({
          loginHint: input.loginHint,
          externalCustomerId: input.incidentId,
          linkValidityMinutes: input.linkValidityMinutes,
          notifyEmail: input.notifyEmail,
        });
        return {
          interviewId: session.interviewId,
          verificationUrl: session.url,
          expiresAt: new Date(started + input.linkValidityMinutes * 60_000).toISOString(),
        };
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    async readSessionResult(interviewId: string): Promise<ConfirmedSessionResult> {
      try {
        return await incode.getSessionResult(interviewId);
      } catch (error) {
        throw toActivityFailure(error);
      }
    },
  };
}

/**
 * Incode errors become Temporal failures: retryable ones carry Incode's Retry-After as the next delay;
 * the others stop retrying at once with a message that says what to fix.
 */
function toActivityFailure(error: unknown): Error {
  if (!(error instanceof IncodeApiError)) return error as Error;
  const details = [{ kind: error.kind, ...error.details }];
  if (error.retryable) {
    return ApplicationFailure.create({
      message: error.message,
      type: `Incode${error.kind}`,
      details,
      nextRetryDelay: error.details.retryAfterMs,
    });
  }
  const type =
    error.kind === 'UserNotFound'
      ? IncodeFailureType.UserNotFound
      : error.kind === 'ApiVersionRejected'
        ? IncodeFailureType.ApiVersionRejected
        : error.kind === 'CredentialsRejected'
          ? IncodeFailureType.CredentialsRejected
          : IncodeFailureType.Refused;
  return ApplicationFailure.nonRetryable(error.message, type, ...details);
}

import type { IncodeClient } from '../clients/incode-client';
import type { IncodeErrorKind } from '../clients/incode-errors';
import { toActivityFailure } from './activity-failure';
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
        throw toIncodeFailure(error);
      }
    },

    async readSessionResult(interviewId: string): Promise<ConfirmedSessionResult> {
      try {
        return await incode.getSessionResult(interviewId);
      } catch (error) {
        throw toIncodeFailure(error);
      }
    },
  };
}

const toIncodeFailure = (error: unknown): Error =>
  toActivityFailure<IncodeErrorKind>(
    error,
    {
      UserNotFound: IncodeFailureType.UserNotFound,
      ApiVersionRejected: IncodeFailureType.ApiVersionRejected,
      CredentialsRejected: IncodeFailureType.CredentialsRejected,
    },
    IncodeFailureType.Refused,
  );

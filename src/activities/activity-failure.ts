import { ApplicationFailure } from '@temporalio/common';
import { ServiceApiError, type ServiceErrorDetails } from '../clients/api-error';

/**
 * A classified Incode or Graph error becomes a Temporal failure: a retryable kind is retried with the
 * service's Retry-After as the next delay (type `<Service><Kind>`); any other stops at once, typed by
 * `nonRetryableTypes` (the workflow branches on these) or `refused`, with a message that says what to fix.
 * Anything else passes unchanged.
 */
export function toActivityFailure<Kind extends string>(
  error: unknown,
  nonRetryableTypes: Partial<Record<Kind, string>>,
  refused: string,
): Error {
  if (error instanceof ApplicationFailure) return error;
  if (!(error instanceof ServiceApiError)) return error as Error;
  const failure = error as ServiceApiError<Kind, ServiceErrorDetails>;
  const details = [failure.failureDetails()];
  if (failure.retryable) {
    return ApplicationFailure.create({
      message: failure.message,
      type: `${failure.service}${failure.kind}`,
      details,
      nextRetryDelay: failure.details.retryAfterMs,
    });
  }
  return ApplicationFailure.nonRetryable(failure.message, nonRetryableTypes[failure.kind] ?? refused, ...details);
}

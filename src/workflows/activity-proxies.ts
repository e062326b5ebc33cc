import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { VerificationActivities } from '../activities';
import type { IncidentAction, IncidentUpdateResult } from '../shared/types';

// Session creation gives up after about a minute: the caller is waiting, and a long Incode outage is
// better escalated to an analyst than hidden.
export const { createVerificationSession } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

export const { readSessionResult } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

// The decision must reach the incident: keep retrying transient ARM trouble for up to a day.
export const { closeIncident, escalateIncident, commentOnIncident } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' },
});

// Graph reads and remediation: a few quick retries; a missing permission comes back as a result, not a failure.
export const { lookUpUserProfile, remediateAccount, sendVerificationEmail } = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

/** What an incident activity's result means for the outcome: done, left to the analyst, or nothing. */
export function actionFor(result: IncidentUpdateResult, done: IncidentAction): IncidentAction {
  if (result.kind === 'updated') return done;
  if (result.kind === 'already-closed') return 'CommentedOnly';
  return 'None';
}

/** The application failure behind an activity failure (its `type` says what went wrong). */
export function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
  return error instanceof ApplicationFailure ? error : undefined;
}

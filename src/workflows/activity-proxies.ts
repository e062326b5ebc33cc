import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { VerificationActivities } from '../activities';
import { incodeTaskQueue, sentinelTaskQueue } from '../shared/task-queues';
import type { WorkspaceRef } from '../shared/types';
import type { IncidentAction, IncidentUpdateResult } from '../shared/types';

type Activities = VerificationActivities;

/**
 * A proxy for one activity on a task queue derived from the workflow's own. The queue is read per call,
 * inside the workflow's context: this module is evaluated once and shared by every workflow of the worker.
 * Which queue an activity was scheduled on is not part of replay's determinism check, so histories recorded
 * before the queues were split replay unchanged (test/replay).
 */
function onQueue<K extends keyof Activities>(
  name: K,
  queueOf: (workflowQueue: string, args: Parameters<Activities[K]>) => string,
  options: ActivityOptions,
): Activities[K] {
  return ((...args: Parameters<Activities[K]>) => {
    const proxy = proxyActivities<Activities>({ ...options, taskQueue: queueOf(workflowInfo().taskQueue, args) });
    return (proxy[name] as unknown as (...a: Parameters<Activities[K]>) => ReturnType<Activities[K]>)(...args);
  }) as Activities[K];
}

// Session creation gives up after about a minute: the caller is waiting, and a long Incode outage is
// better escalated to an analyst than hidden.
// Incode's calls run on the Incode queue (INCODE_RATE_LIMIT_PER_SECOND). There is no schedule-to-start
// timeout: a throttled burst waits in the queue, which delays links rather than failing verifications.
export const createVerificationSession = onQueue('createVerificationSession', (queue) => incodeTaskQueue(queue), {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

export const readSessionResult = onQueue('readSessionResult', (queue) => incodeTaskQueue(queue), {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

// The decision must reach the incident: keep retrying transient ARM trouble for up to a day. Every call
// writes to ARM, whose write budget is per subscription and principal: each goes to its subscription's
// Sentinel queue (SENTINEL_RATE_LIMIT_PER_SECOND, ARM's write refill, per queue).
const onSubscriptionQueue = (workflowQueue: string, [input]: [{ workspace: WorkspaceRef }]) =>
  sentinelTaskQueue(workflowQueue, input.workspace.subscriptionId);
const incidentWrites: ActivityOptions = {
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' },
};
export const closeIncident = onQueue('closeIncident', onSubscriptionQueue, incidentWrites);
export const escalateIncident = onQueue('escalateIncident', onSubscriptionQueue, incidentWrites);
export const commentOnIncident = onQueue('commentOnIncident', onSubscriptionQueue, incidentWrites);

// Graph reads and remediation: a few quick retries; a missing permission comes back as a result, not a failure.
const graphCalls: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
};
export const { lookUpUserProfile, remediateAccount, sendVerificationEmail } = proxyActivities<VerificationActivities>(graphCalls);
// The profile look-up is a short, idempotent read that no task queue paces: a local activity (one marker in
// the history instead of an activity's three events and a workflow task), with the same timeout and retries.
// Calls paced by a rate-limited queue (Incode's, ARM's) stay ordinary activities: a local one would bypass it.
export const { lookUpUserProfile: lookUpUserProfileLocally } = proxyLocalActivities<VerificationActivities>(graphCalls);

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

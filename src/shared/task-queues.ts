/**
 * Activities that call a rate-limited service run on task queues of their own, named after the workflow's
 * queue, so the Temporal server can hold their dispatch rate under the service's limit across every worker
 * replica (`maxTaskQueueActivitiesPerSecond` is enforced by the server per task queue, not per process).
 * The workflow derives the names from its own task queue and the activity's input: nothing extra travels.
 *
 * ARM's write budget is per subscription and principal, so Sentinel's activities have one queue per
 * subscription: one tenant's burst waits on its own queue and never delays another's (docs/scaling.md).
 */
export function sentinelTaskQueue(workflowTaskQueue: string, subscriptionId: string): string {
  return `${workflowTaskQueue}-sentinel-${subscriptionId.toLowerCase()}`;
}

/**
 * The single Sentinel queue of earlier versions: workflows that scheduled an activity there before the
 * upgrade still need a worker for it, so every worker keeps polling it.
 */
export function sharedSentinelTaskQueue(workflowTaskQueue: string): string {
  return `${workflowTaskQueue}-sentinel`;
}

export function incodeTaskQueue(workflowTaskQueue: string): string {
  return `${workflowTaskQueue}-incode`;
}

/** Activity names served on each rate-limited queue (the worker registers exactly these there). */
export const SENTINEL_ACTIVITY_NAMES = ['commentOnIncident', 'closeIncident', 'escalateIncident'] as const;
export const INCODE_ACTIVITY_NAMES = ['createVerificationSession', 'readSessionResult'] as const;

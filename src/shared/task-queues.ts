/**
 * Activities that call a rate-limited service run on a task queue of their own, named after the workflow's
 * queue, so the Temporal server can hold their dispatch rate under the service's limit across every worker
 * replica (`maxTaskQueueActivitiesPerSecond` is enforced by the server per task queue, not per process).
 * The workflow derives the names from its own task queue: nothing extra travels in its input.
 */
export function sentinelTaskQueue(workflowTaskQueue: string): string {
  return `${workflowTaskQueue}-sentinel`;
}

export function incodeTaskQueue(workflowTaskQueue: string): string {
  return `${workflowTaskQueue}-incode`;
}

/** Activity names served on each rate-limited queue (the worker registers exactly these there). */
export const SENTINEL_ACTIVITY_NAMES = ['commentOnIncident', 'closeIncident', 'escalateIncident'] as const;
export const INCODE_ACTIVITY_NAMES = ['createVerificationSession', 'readSessionResult'] as const;

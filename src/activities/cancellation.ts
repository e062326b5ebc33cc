import { Context } from '@temporalio/activity';

/**
 * The running activity's cancellation signal (it fires when the workflow cancels the activity, the activity
 * times out, or the worker shuts down), for the clients to abort their HTTP calls with; none outside one.
 */
export function activityCancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not in an activity: the gateway, the doctor, tests
  }
}

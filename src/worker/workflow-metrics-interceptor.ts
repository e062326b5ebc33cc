/**
 * Workflow interceptor (bundled into the workflow code through `interceptors.workflowModules`, not imported
 * by the workflow itself) that tells the worker how each verification ended, for
 * `itdr_verification_outcomes_total` and `itdr_time_to_verify_seconds`.
 *
 * It only observes: it adds no command, so histories replay the same with or without it. The report goes
 * through a sink, the SDK's way out of the workflow sandbox; sinks are not called while replaying, so a
 * worker restart does not count a verification again (a worker that dies between the final workflow task
 * and its completion may count it twice).
 */
import {
  ContinueAsNew,
  isCancellation,
  proxySinks,
  TemporalFailure,
  workflowInfo,
  type Sinks,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';

export interface WorkflowEndReport {
  /** The result's `status` (`Verified`, `Failed`, `TimedOut`, ...), or `WorkflowFailed` / `Cancelled`. */
  status: string;
  incidentAction?: string;
}

export interface VerificationMetricsSinks extends Sinks {
  itdrMetrics: {
    workflowEnded(report: WorkflowEndReport): void;
  };
}

const { itdrMetrics } = proxySinks<VerificationMetricsSinks>();

const NOT_VERIFICATIONS: ReadonlySet<string> = new Set(['secretExpiryCheck', 'tiSync']);

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        // The scheduled secret expiry check and threat-intelligence sync are not verifications.
        if (NOT_VERIFICATIONS.has(workflowInfo().workflowType)) return next(input);
        try {
          const result = (await next(input)) as { status?: unknown; incidentAction?: unknown } | undefined;
          itdrMetrics.workflowEnded({
            status: typeof result?.status === 'string' ? result.status : 'Unknown',
            incidentAction: typeof result?.incidentAction === 'string' ? result.incidentAction : undefined,
          });
          return result;
        } catch (error) {
          // Continue-as-new is not an end; any other non-Temporal error fails the workflow task, which is
          // retried, not the workflow: neither is an outcome.
          if (!(error instanceof ContinueAsNew) && (error instanceof TemporalFailure || isCancellation(error))) {
            itdrMetrics.workflowEnded({ status: isCancellation(error) ? 'Cancelled' : 'WorkflowFailed' });
          }
          throw error;
        }
      },
    },
  ],
});

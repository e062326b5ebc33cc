import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';

/** gRPC status codes (grpc/doc/statuscodes.md) the gateway answers with a retry. */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_FAILED_PRECONDITION = 9;
const GRPC_UNAVAILABLE = 14;

/**
 * The link deadline passed before the update returned: the client's own error for an update call cut short, or
 * a DEADLINE_EXCEEDED status anywhere in the cause chain. The workflow may well have started.
 */
export function isUpdateDeadline(error: unknown): boolean {
  return error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcCodeOf(error) === GRPC_DEADLINE_EXCEEDED;
}

/**
 * Temporal cannot take the call now but will shortly: the frontend is unreachable or restarting (UNAVAILABLE),
 * or the workflow's task is failing, e.g. right after a worker died (the server's WorkflowNotReady, sent as
 * FAILED_PRECONDITION). Both pass on their own, so the caller is told to repeat the request.
 */
export function isTemporalTransient(error: unknown): boolean {
  const code = grpcCodeOf(error);
  return code === GRPC_UNAVAILABLE || code === GRPC_FAILED_PRECONDITION;
}

/** The status code of the first gRPC error in the cause chain (the client wraps them in ServiceError). */
function grpcCodeOf(error: unknown): number | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (isGrpcServiceError(cause)) return cause.code;
  }
  return undefined;
}

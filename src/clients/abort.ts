/** The signal that cancels a call in progress: in the worker, the running activity's cancellation signal. */
export type CancellationSource = () => AbortSignal | undefined;

/** A call's signal: aborted after `timeoutMs`, or as soon as the caller's cancellation fires. */
export function callSignal(timeoutMs: number, cancellation?: CancellationSource): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  const cancelled = cancellation?.();
  return cancelled ? AbortSignal.any([timeout, cancelled]) : timeout;
}

/** After a failed call: the cancellation's own reason when the caller cancelled, so it is not taken for a network error. */
export function throwIfCancelled(cancellation?: CancellationSource): void {
  const cancelled = cancellation?.();
  if (cancelled?.aborted) throw cancelled.reason ?? new Error('The call was cancelled');
}

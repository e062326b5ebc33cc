import {
  AuthenticationHandler,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { retryAfterMs } from './incode-errors';

/**
 * The Graph SDK's middleware chain as its default (authentication, retry, redirect, telemetry, fetch), with
 * one handler of ours in front: OperationSignalHandler, which ends an operation as soon as its signal fires.
 */

export interface GraphRetryPolicy {
  /** Retries of a 429, 503 or 504 (the SDK's retryable statuses). */
  maxRetries: number;
  /** Longest Retry-After waited for in the client; a longer one is left to the caller (Temporal). */
  maxRetryAfterMs: number;
}

/** Without Retry-After the SDK waits this (seconds), then backs off exponentially. */
const FIRST_RETRY_DELAY_SECONDS = 1;

export function graphMiddleware(authProvider: AuthenticationProvider, policy: GraphRetryPolicy): Middleware[] {
  return [
    new OperationSignalHandler(),
    new AuthenticationHandler(authProvider),
    new RetryHandler(retryOptions(policy)),
    new RedirectHandler(new RedirectHandlerOptions()),
    new TelemetryHandler(),
    new HTTPMessageHandler(),
  ];
}

/** Reads and idempotent writes: repeated after Graph's Retry-After when it is short enough, never once the operation's signal fired. */
export function retryOptions(policy: GraphRetryPolicy): RetryHandlerOptions {
  return new RetryHandlerOptions(FIRST_RETRY_DELAY_SECONDS, policy.maxRetries, (_delay, _attempt, _request, options, response) => {
    if (options?.signal?.aborted) return false;
    const wait = retryAfterMs(response.headers.get('retry-after'));
    return wait === undefined || wait <= policy.maxRetryAfterMs;
  });
}

/** For a request that must not be repeated in the client (sendMail: a 503 may hide a message that did leave). */
export function noRetries(): RetryHandlerOptions {
  return new RetryHandlerOptions(0, 0);
}

/**
 * First in the chain: rejects with the signal's reason (the call's timeout, or the activity's cancellation) as
 * soon as it fires. fetch is aborted by the same signal (it is in the request's fetch options), but the SDK's
 * RetryHandler does not abort its wait for Retry-After, nor the AuthenticationHandler a token request; this
 * ends the operation there too. A retry still waiting then finds the signal aborted and stops.
 */
export class OperationSignalHandler implements Middleware {
  private next?: Middleware;

  async execute(context: Context): Promise<void> {
    const next = this.next;
    if (!next) throw new Error('OperationSignalHandler must not be the last middleware');
    const signal = context.options?.signal ?? undefined;
    if (!signal) return next.execute(context);
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([next.execute(context), aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookTarget } from './options';

export type SessionEventType = 'SESSION_SUCCEEDED' | 'SESSION_FAILED' | 'SESSION_PENDING_REVIEW';

export interface SessionWebhookPayload {
  eventType: SessionEventType;
  interviewId: string;
  externalCustomerId?: string;
  loginHint: string;
  timestamp: string;
}

export interface DeliveryAttempt {
  attempt: number;
  /** HTTP status, or null when no answer came (timeout, refused connection). */
  status: number | null;
  error?: string;
  at: Date;
  durationMs: number;
}

export interface DeliveryOptions {
  timeoutMs: number;
  retryDelayMs: number;
  /** Aborted when the simulator closes. */
  shutdown: AbortSignal;
}

/** Incode sends a session webhook once and retries once on a timeout or any answer other than 200. */
const MAX_ATTEMPTS = 2;

/** Delivers one session webhook the way Incode does and reports every attempt. */
export async function deliverSessionWebhook(
  target: WebhookTarget,
  payload: SessionWebhookPayload,
  options: DeliveryOptions,
): Promise<DeliveryAttempt[]> {
  const attempts: DeliveryAttempt[] = [];
  for (let attempt = 1; attempt <= MAX_ATTEMPTS && !options.shutdown.aborted; attempt++) {
    if (attempt > 1) {
      try {
        await sleep(options.retryDelayMs, undefined, { signal: options.shutdown });
      } catch {
        break;
      }
    }
    const result = await postOnce(target, payload, options);
    attempts.push({ attempt, ...result });
    if (result.status === 200) break;
  }
  return attempts;
}

async function postOnce(
  target: WebhookTarget,
  payload: SessionWebhookPayload,
  options: DeliveryOptions,
): Promise<Omit<DeliveryAttempt, 'attempt'>> {
  const at = new Date();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json', 'user-agent': 'Incode-Webhooks (itdr-verify simulator)' },
      body: JSON.stringify(payload),
      redirect: 'manual',
      signal: AbortSignal.any([timeout, options.shutdown]),
    });
    // Read the answer so the connection can be reused; the body itself does not matter to Incode.
    await response.arrayBuffer().catch(() => undefined);
    return { status: response.status, at, durationMs: Date.now() - at.getTime() };
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : describe(error);
    return { status: null, error: reason, at, durationMs: Date.now() - at.getTime() };
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookOAuth2, WebhookTarget } from './options';

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
  let bearer: string | undefined;
  if (target.oauth2) {
    try {
      bearer = await webhookToken(target, target.oauth2, AbortSignal.any([timeout, options.shutdown]));
    } catch (error) {
      const reason = timeout.aborted ? `no token within ${options.timeoutMs} ms` : describe(error);
      return { status: null, error: `token request failed: ${reason}`, at, durationMs: Date.now() - at.getTime() };
    }
  }
  try {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        ...target.headers,
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        'content-type': 'application/json',
        'user-agent': 'Incode-Webhooks (itdr-verify simulator)',
      },
      body: JSON.stringify(payload),
      redirect: 'manual',
      signal: AbortSignal.any([timeout, options.shutdown]),
    });
    // Read the answer so the connection can be reused; the body itself does not matter to Incode.
    await response.arrayBuffer().catch(() => undefined);
    // A refused token (the receiver restarted, or revoked it): fetch a new one for the retry.
    if (bearer && response.status === 401) tokenCache.delete(target);
    return { status: response.status, at, durationMs: Date.now() - at.getTime() };
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : describe(error);
    return { status: null, error: reason, at, durationMs: Date.now() - at.getTime() };
  }
}

/** Tokens per webhook target, reused until shortly before they expire, as Incode caches them. */
const tokenCache = new WeakMap<WebhookTarget, { token: string; expiresAt: number }>();

/** Every token request the simulated Incode made (tests assert caching with it). */
export const webhookTokenRequests = { count: 0 };

async function webhookToken(target: WebhookTarget, oauth2: WebhookOAuth2, signal: AbortSignal): Promise<string> {
  const cached = tokenCache.get(target);
  if (cached && cached.expiresAt > Date.now()) return cached.token;
  webhookTokenRequests.count++;
  const basic = Buffer.from(`${oauth2.clientId}:${oauth2.clientSecret}`).toString('base64');
  const response = await fetch(oauth2.tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: 'grant_type=client_credentials',
    redirect: 'manual',
    signal,
  });
  const body = (await response.json().catch(() => undefined)) as { access_token?: unknown; expires_in?: unknown } | undefined;
  if (response.status !== 200 || typeof body?.access_token !== 'string' || !body.access_token) {
    throw new Error(`HTTP ${response.status}`);
  }
  const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300) * 1000;
  // Renew a little early (10% of the lifetime, at most 30 s) so a token does not expire in flight.
  tokenCache.set(target, { token: body.access_token, expiresAt: Date.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 10) });
  return body.access_token;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

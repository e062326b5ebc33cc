import type { NextFunction, Request, Response } from 'express';
import { rateLimit, type Options, type RateLimitRequestHandler } from 'express-rate-limit';
import { HttpError } from './http-error';

/**
 * Request budgets (GATEWAY_RATE_LIMIT_PER_MINUTE, one-minute windows, in this process's memory):
 *
 * - `perCaller`: control endpoints, per authenticated caller (API-key name or Entra caller name), so a noisy
 *   caller cannot starve another and a caller behind a shared egress IP is not starved by its neighbours;
 * - `authFailuresPerIp`: failed authentications on the control endpoints, per client IP. Only requests that
 *   fail authentication count and only they are refused when the budget is spent, so an attacker sharing an IP
 *   with a legitimate caller (Logic Apps egress, NAT) cannot lock it out;
 * - `webhookAuthFailuresPerIp`: webhook calls that fail authentication, per client IP, at the same budget; like
 *   the control endpoints', authenticated calls neither count nor get refused;
 * - `webhookTokenPerIp`: every call of the webhook's OAuth2 token URL, per client IP (Incode calls it once per token);
 * - `webhooks`: authenticated webhook calls per client IP, at GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE. Incode sends
 *   every completion from a few addresses, so this budget is larger: a refused webhook is retried once and then
 *   dropped by Incode, and the verification would only learn its result at its next poll.
 *
 * A refused request gets 429 with `Retry-After` (seconds) and the usual JSON error body. The client IP is the
 * socket's (`trust proxy` is off): behind a reverse proxy all clients share the proxy's budget.
 */
export interface GatewayRateLimits {
  perCaller: RateLimitRequestHandler;
  authFailuresPerIp: RateLimitRequestHandler;
  webhookAuthFailuresPerIp: RateLimitRequestHandler;
  webhookTokenPerIp: RateLimitRequestHandler;
  webhooks: RateLimitRequestHandler;
}

const WINDOW_MS = 60_000;

export function createRateLimits(perMinute: number, webhooksPerMinute = perMinute * 10): GatewayRateLimits {
  const common = (what: string, limit = perMinute): Partial<Options> => ({
    windowMs: WINDOW_MS,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // X-Forwarded-For / Forwarded are attacker-controlled here (trust proxy is off): warning about them would only be noise.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
    handler: (req: Request, _res: Response, next: NextFunction) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000));
      next(
        new HttpError(
          429,
          'rate_limited',
          `Too many requests (${what}: ${limit} per minute); retry after ${seconds} s`,
          { retryAfterSeconds: seconds },
          {
            'retry-after': String(seconds),
          },
        ),
      );
    },
  });
  return {
    perCaller: rateLimit({
      ...common('per caller'),
      keyGenerator: (_req, res) => `caller:${String(res.locals.caller)}`,
    }),
    authFailuresPerIp: rateLimit({
      ...common('failed authentications per client'),
      // Authenticated requests neither count nor get refused here.
      skip: (_req, res) => typeof res.locals.caller === 'string',
    }),
    webhookAuthFailuresPerIp: rateLimit({
      ...common('failed webhook authentications per client'),
      skip: (_req, res) => res.locals.webhookAuthFailure === undefined,
    }),
    webhookTokenPerIp: rateLimit(common('token requests per client')),
    webhooks: rateLimit(common('webhooks per client', webhooksPerMinute)),
  };
}

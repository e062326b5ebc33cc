import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { GatewayCaller } from '../config/gateway-auth';
import { BearerTokenError, type EntraTokenValidator } from './entra-auth';
import { HttpError } from './http-error';

/**
 * Compares secrets in constant time. Both sides are hashed first so the comparison does not leak the
 * expected length either.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface CallerAuthOptions {
  /** API-key callers (may be empty when only Entra ID tokens are accepted). */
  callers: readonly GatewayCaller[];
  /** Validates Entra ID bearer tokens; absent when only API keys are accepted. */
  bearer?: EntraTokenValidator;
  logger?: Logger;
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/**
 * Authenticates a caller of the control endpoints with an Entra ID bearer token (`Authorization: Bearer`) or an
 * API key (`x-api-key`), exactly one of them. On success the caller's name goes to `res.locals.caller` (the
 * audit trail); on failure the 401 is left in `res.locals.authFailure` so the per-IP failure limiter can count it
 * before `rejectUnauthenticated` answers. Any problem reading the tenant's keys answers 503, never 401.
 */
export function authenticateCaller(options: CallerAuthOptions) {
  const challenges = [...(options.bearer ? ['Bearer realm="itdr-verify"'] : []), ...(options.callers.length ? ['ApiKey'] : [])].join(', ');
  const refuse = (message: string, challenge = challenges) =>
    new HttpError(401, 'unauthenticated', message, undefined, challenge ? { 'www-authenticate': challenge } : undefined);
  const accepted = [
    options.bearer ? 'an Entra ID bearer token (Authorization: Bearer)' : '',
    options.callers.length ? 'an x-api-key header' : '',
  ]
    .filter(Boolean)
    .join(' or ');

  const authenticate = async (req: Request, res: Response): Promise<void> => {
    const authorization = req.get('authorization');
    const key = req.get('x-api-key');
    if (authorization && key) throw refuse('Send one credential: an Authorization bearer token or x-api-key, not both');
    if (authorization) {
      if (!options.bearer) throw refuse('Bearer tokens are not accepted by this gateway');
      const match = BEARER.exec(authorization);
      if (!match?.[1]) throw refuse('Unsupported Authorization header: use "Bearer <token>"');
      try {
        const caller = await options.bearer(match[1]);
        res.locals.caller = caller.name;
        options.logger?.debug(
          { caller: caller.name, appId: caller.appId, tokenVersion: caller.tokenVersion },
          'caller authenticated (entra)',
        );
        return;
      } catch (error) {
        if (error instanceof BearerTokenError) {
          options.logger?.warn({ reason: error.reason, detail: error.detail }, 'bearer token refused');
          throw refuse(
            error.message,
            `Bearer realm="itdr-verify", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`,
          );
        }
        options.logger?.error(
          { err: { name: (error as Error)?.name, message: (error as Error)?.message } },
          'bearer token could not be checked',
        );
        throw new HttpError(503, 'authentication_unavailable', 'The token could not be checked right now; retry later', undefined, {
          'retry-after': '30',
        });
      }
    }
    if (key) {
      if (options.callers.length === 0) throw refuse('API keys are not accepted by this gateway');
      // Check every key so the time taken does not reveal which one matched.
      let caller: GatewayCaller | undefined;
      for (const candidate of options.callers) if (secretsEqual(key, candidate.key) && !caller) caller = candidate;
      if (!caller) throw refuse('Invalid API key');
      res.locals.caller = caller.name;
      return;
    }
    throw refuse(`Missing credentials: send ${accepted}`);
  };

  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      await authenticate(req, res);
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) res.locals.authFailure = error;
      else return next(error);
    }
    next();
  };
}

/** Answers the 401 `authenticateCaller` left for a request it could not authenticate. */
export function rejectUnauthenticated(_req: Request, res: Response, next: NextFunction): void {
  if (res.locals.authFailure instanceof HttpError) throw res.locals.authFailure;
  if (typeof res.locals.caller !== 'string') throw new HttpError(401, 'unauthenticated', 'Not authenticated');
  next();
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { GatewayCaller } from '../config/config';
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

/** Callers of the control endpoints present `x-api-key`; the matching caller's name goes into the audit trail. */
export function requireApiKey(callers: readonly GatewayCaller[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-api-key');
    if (!given) throw new HttpError(401, 'unauthenticated', 'Missing x-api-key header', undefined, { 'www-authenticate': 'ApiKey' });
    // Check every key so the time taken does not reveal which one matched.
    let caller: GatewayCaller | undefined;
    for (const candidate of callers) if (secretsEqual(given, candidate.key) && !caller) caller = candidate;
    if (!caller) throw new HttpError(401, 'unauthenticated', 'Invalid API key', undefined, { 'www-authenticate': 'ApiKey' });
    res.locals.caller = caller.name;
    next();
  };
}

/** Incode's custom-header webhook authentication: a shared secret in a header configured in its dashboard. */
export function requireWebhookSecret(headerName: string, secret: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const given = req.get(headerName);
    if (!given || !secretsEqual(given, secret)) {
      throw new HttpError(401, 'unauthenticated', `Missing or invalid ${headerName} header`);
    }
    next();
  };
}

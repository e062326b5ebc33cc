import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import { queryParam } from './http';

/** How a token was obtained: the managed identity endpoint, or Entra ID's token endpoint with an app credential. */
export type TokenAuthMethod = 'managedIdentity' | 'clientSecret' | 'clientCertificate' | 'federatedToken';

/** An access token the simulated managed identity or Entra endpoint handed out (the value itself is not exposed). */
export interface IssuedToken {
  resource: string;
  /** Client id of the identity: the system-assigned one, the user-assigned one that was asked for, or the app's. */
  clientId: string;
  /** A user-assigned managed identity (false for the system-assigned one and for apps). */
  userAssigned: boolean;
  authMethod: TokenAuthMethod;
  issuedAt: Date;
  expiresAt: Date;
}

export type TokenCheck =
  { ok: true; token: IssuedToken } | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'expired' | 'audience'; resource?: string };

/** Compares resources the way Entra ID audiences compare: scheme and host case-insensitive, trailing slash ignored. */
export function normalizeResource(resource: string): string {
  const trimmed = resource.trim().replace(/\/+$/, '');
  try {
    const url = new URL(trimmed);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`.replace(/\/+$/, '').toLowerCase();
  } catch {
    return trimmed.toLowerCase();
  }
}

// MSAL keeps managed identity tokens in a static, process-wide cache keyed by identity and resource, so a
// second simulator started in the same process is handed tokens the first one issued (always for Key Vault,
// whose resource does not depend on the port). Entra tokens are not tied to one service instance either: every
// simulator in the process accepts every token issued in it.
const processTokens = new Map<string, IssuedToken>();

/**
 * Opaque Azure access tokens, remembered with their resource and expiry. The managed identity endpoint and the
 * Entra ID token endpoint issue them (the same kind, whichever the credential); ARM and Key Vault check them.
 * Tests read `issued()` to see who asked for what.
 */
export class AzureTokenStore {
  private readonly own = new Set<string>();

  issue(
    resource: string,
    clientId: string,
    userAssigned: boolean,
    lifetimeSeconds: number,
    authMethod: TokenAuthMethod = 'managedIdentity',
  ): { accessToken: string; token: IssuedToken } {
    this.prune();
    const now = Date.now();
    const accessToken = `simaz.${randomBytes(32).toString('base64url')}`;
    const token: IssuedToken = {
      resource,
      clientId,
      userAssigned,
      authMethod,
      issuedAt: new Date(now),
      expiresAt: new Date(now + lifetimeSeconds * 1000),
    };
    processTokens.set(accessToken, token);
    this.own.add(accessToken);
    return { accessToken, token };
  }

  /** Checks an `Authorization` header against the resources a service accepts. */
  check(authorization: string | undefined, accepts: (normalizedResource: string) => boolean): TokenCheck {
    if (!authorization) return { ok: false, reason: 'missing' };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) return { ok: false, reason: 'malformed' };
    const token = processTokens.get(match[1]);
    if (!token) return { ok: false, reason: 'unknown' };
    if (token.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired', resource: token.resource };
    if (!accepts(normalizeResource(token.resource))) return { ok: false, reason: 'audience', resource: token.resource };
    return { ok: true, token };
  }

  /** Tokens this simulator issued (not those of other simulators in the process). */
  issued(): IssuedToken[] {
    return [...this.own].flatMap((value) => {
      const token = processTokens.get(value);
      return token ? [{ ...token }] : [];
    });
  }

  /**
   * Revokes every token this simulator issued. MSAL still holds them in its cache, so SDK clients get a 401
   * until they expire: use it to test that path, not to reset state between tests.
   */
  revokeAll(): void {
    for (const value of this.own) processTokens.delete(value);
    this.own.clear();
  }

  private prune(): void {
    const now = Date.now();
    for (const [value, token] of processTokens) {
      if (token.expiresAt.getTime() <= now) {
        processTokens.delete(value);
        this.own.delete(value);
      }
    }
  }
}

export interface IdentityEndpointConfig {
  identityHeader: string;
  systemAssignedClientId: string;
  userAssignedClientIds?: string[];
  tokenLifetimeSeconds: number;
}

export const IDENTITY_PATH = '/msi/token';
const API_VERSION = '2019-08-01';

/**
 * The App Service / Container Apps managed identity endpoint (IDENTITY_ENDPOINT, api-version 2019-08-01), as
 * MSAL's AppService source calls it: GET with resource, api-version, optional client_id (or mi_res_id /
 * object_id), and the X-IDENTITY-HEADER secret.
 */
export function identityRouter(store: AzureTokenStore, config: IdentityEndpointConfig): Router {
  const router = express.Router();
  router.get(IDENTITY_PATH, (req, res) => {
    const fail = (status: number, message: string) => res.status(status).json(identityError(status, message));
    if (!sameSecret(req.get('x-identity-header'), config.identityHeader)) {
      fail(401, 'The X-IDENTITY-HEADER header is missing or does not match.');
      return;
    }
    if (queryParam(req, 'api-version') !== API_VERSION) {
      fail(400, `The api-version parameter must be ${API_VERSION}.`);
      return;
    }
    const resource = queryParam(req, 'resource');
    if (!resource) {
      fail(400, 'The resource parameter is required.');
      return;
    }
    const identity = requestedIdentity(req);
    if (identity === 'ambiguous') {
      fail(400, 'Only one of client_id, mi_res_id, object_id or principal_id may be given.');
      return;
    }
    if (identity && config.userAssignedClientIds && !config.userAssignedClientIds.includes(identity)) {
      fail(400, 'Unable to load the proper Managed Identity.');
      return;
    }
    const clientId = identity ?? config.systemAssignedClientId;
    const { accessToken, token } = store.issue(resource, clientId, identity !== undefined, config.tokenLifetimeSeconds);
    res.json({
      access_token: accessToken,
      expires_on: String(Math.floor(token.expiresAt.getTime() / 1000)),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  });
  return router;
}

/** The identity the caller names (client_id, mi_res_id, object_id or principal_id), or 'ambiguous' for several. */
function requestedIdentity(req: Request): string | undefined {
  const given = ['client_id', 'mi_res_id', 'object_id', 'principal_id']
    .map((name) => queryParam(req, name))
    .filter((value): value is string => Boolean(value));
  if (given.length > 1) return 'ambiguous';
  return given[0];
}

/** App Service's error shape, which MSAL reads (`message`, `correlationId`). */
export function identityError(status: number, message: string): unknown {
  return { statusCode: status, message, correlationId: randomUUID() };
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

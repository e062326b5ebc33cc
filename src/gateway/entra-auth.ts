import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { EntraCaller, GatewayEntraConfig } from '../config/gateway-auth';

/**
 * Validation of Microsoft Entra ID access tokens presented to the control endpoints, typically by the Sentinel
 * playbook's managed identity (a Logic App HTTP action with "Authentication: Managed identity" and the gateway's
 * App ID URI as audience). A token is accepted only when all of these hold:
 *
 * - RS256 signature by a key of the tenant's published key set (JWKS), found by the header's `kid`;
 *   no other algorithm is accepted, so `none` and HS256-with-the-public-key confusion fail;
 * - issuer: the tenant's v2.0 issuer (`{authorityHost}/{tenant}/v2.0`) or its v1 issuer
 *   (`https://sts.windows.net/{tenant}/`; `https://sts.chinacloudapi.cn/{tenant}/` in Azure China);
 * - `tid` is the tenant; `aud` is one of the configured audiences;
 * - `exp` present and not past, `nbf` not in the future, both with CLOCK_SKEW_SECONDS of tolerance;
 * - `oid` (the caller's service principal) is one of the allowed callers.
 *
 * Failures carry a short reason for the caller (never the token, its claims or what was expected) and a more
 * precise one for the log.
 */

export const CLOCK_SKEW_SECONDS = 60;
/** Entra access tokens are 1-3 KB; anything much longer is not one. */
const MAX_TOKEN_LENGTH = 8192;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface AuthenticatedEntraCaller {
  name: string;
  objectId: string;
  /** appid (v1) or azp (v2): the client id of the caller, for the log. */
  appId?: string;
  tokenVersion?: string;
}

export type BearerFailureReason =
  | 'malformed'
  | 'algorithm'
  | 'unknown_key'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'tenant'
  | 'claims'
  | 'caller_not_allowed';

const PUBLIC_MESSAGES: Record<BearerFailureReason, string> = {
  malformed: 'Invalid bearer token: not a well-formed JWT',
  algorithm: 'Invalid bearer token: signing algorithm not accepted',
  unknown_key: 'Invalid bearer token: signing key not recognised',
  signature: 'Invalid bearer token: signature verification failed',
  expired: 'Invalid bearer token: expired',
  not_yet_valid: 'Invalid bearer token: not yet valid',
  issuer: 'Invalid bearer token: issuer not accepted',
  audience: 'Invalid bearer token: audience not accepted',
  tenant: 'Invalid bearer token: tenant not accepted',
  claims: 'Invalid bearer token: required claims missing or invalid',
  caller_not_allowed: 'Bearer token is valid but its caller is not allowed to use this API',
};

/** The token was refused. `message` is safe to return to the caller; `detail` is for the log only. */
export class BearerTokenError extends Error {
  override name = 'BearerTokenError';

  constructor(
    readonly reason: BearerFailureReason,
    readonly detail?: string,
  ) {
    super(PUBLIC_MESSAGES[reason]);
  }
}

/** The tenant's signing keys could not be read (Entra unreachable, bad answer): not the caller's fault. */
export class KeySetUnavailableError extends Error {
  override name = 'KeySetUnavailableError';
}

/** The issuers Entra ID puts in the tenant's access tokens (v2.0 and v1.0 token formats). */
export function entraIssuers(authorityHost: string, tenantId: string): string[] {
  const host = authorityHost.replace(/\/+$/, '');
  const stsHost = /login\.chinacloudapi\.cn$/i.test(new URL(host).host) ? 'https://sts.chinacloudapi.cn' : 'https://sts.windows.net';
  return [`${host}/${tenantId}/v2.0`, `${stsHost}/${tenantId}/`];
}

export interface EntraTokenValidatorOptions {
  /** The key set; by default the remote JWKS of `config.jwksUrl` (cached, refreshed on an unknown kid at most every 30 s). */
  keys?: JWTVerifyGetKey;
  /** The remote key set's cool-down between fetches caused by an unknown kid (default 30 s) and cache age (10 min). */
  remoteKeySet?: { cooldownMs?: number; cacheMaxAgeMs?: number };
  /** For tests. */
  now?: () => Date;
}

export type EntraTokenValidator = (token: string) => Promise<AuthenticatedEntraCaller>;

export function createEntraTokenValidator(config: GatewayEntraConfig, options: EntraTokenValidatorOptions = {}): EntraTokenValidator {
  const tenantId = config.tenantId.toLowerCase();
  const issuers = entraIssuers(config.authorityHost, tenantId);
  const callers = new Map<string, EntraCaller>(config.allowedCallers.map((caller) => [caller.objectId.toLowerCase(), caller]));
  const keySet =
    options.keys ??
    createRemoteJWKSet(new URL(config.jwksUrl), {
      timeoutDuration: 5_000,
      cooldownDuration: options.remoteKeySet?.cooldownMs ?? 30_000,
      cacheMaxAge: options.remoteKeySet?.cacheMaxAgeMs ?? 10 * 60_000,
    });
  // Failures to obtain the key set are told apart from a key that is not in it.
  const keys: JWTVerifyGetKey = async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey)
        throw new BearerTokenError('unknown_key', `no key with kid ${String(header.kid).slice(0, 64)}`);
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw new BearerTokenError('unknown_key', 'several keys match');
      if (error instanceof BearerTokenError) throw error;
      throw new KeySetUnavailableError(`the tenant's signing keys could not be read: ${(error as Error)?.name ?? 'error'}`);
    }
  };

  return async (token: string) => {
    if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) throw new BearerTokenError('malformed', 'not a compact JWS');
    let payload: JWTPayload;
    let tokenVersion: string | undefined;
    try {
      const header = decodeSegment(token.slice(0, token.indexOf('.')));
      if (!header || typeof header !== 'object') throw new BearerTokenError('malformed', 'header is not a JSON object');
      if (header.alg !== 'RS256') throw new BearerTokenError('algorithm', `alg ${String(header.alg).slice(0, 16)}`);
      if (typeof header.kid !== 'string' || !header.kid) throw new BearerTokenError('unknown_key', 'no kid in the header');
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ['RS256'],
        issuer: issuers,
        audience: config.audiences,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'oid', 'tid'],
        currentDate: options.now?.(),
      }));
      tokenVersion = typeof payload.ver === 'string' ? payload.ver : undefined;
    } catch (error) {
      throw classify(error);
    }
    if (typeof payload.tid !== 'string' || payload.tid.toLowerCase() !== tenantId)
      throw new BearerTokenError('tenant', 'tid is another tenant');
    if (typeof payload.oid !== 'string') throw new BearerTokenError('claims', 'oid is not a string');
    const caller = callers.get(payload.oid.toLowerCase());
    if (!caller)
      throw new BearerTokenError('caller_not_allowed', `oid ${payload.oid.slice(0, 64)} is not in GATEWAY_ENTRA_ALLOWED_CALLERS`);
    const appId = typeof payload.appid === 'string' ? payload.appid : typeof payload.azp === 'string' ? payload.azp : undefined;
    return { name: caller.name, objectId: caller.objectId, appId, tokenVersion };
  };
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function classify(error: unknown): Error {
  if (error instanceof BearerTokenError || error instanceof KeySetUnavailableError) return error;
  if (error instanceof errors.JWTExpired) return new BearerTokenError('expired', 'exp is past');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const detail = `${error.claim}: ${error.reason}`;
    switch (error.claim) {
      case 'nbf':
        return new BearerTokenError('not_yet_valid', detail);
      case 'iss':
        return new BearerTokenError('issuer', detail);
      case 'aud':
        return new BearerTokenError('audience', detail);
      case 'iat':
        return new BearerTokenError(error.reason === 'check_failed' ? 'not_yet_valid' : 'claims', detail);
      default:
        return new BearerTokenError('claims', detail);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return new BearerTokenError('algorithm', error.code);
  if (error instanceof errors.JWSSignatureVerificationFailed) return new BearerTokenError('signature', error.code);
  if (error instanceof errors.JOSEError) return new BearerTokenError('malformed', error.code);
  // jose validates its input; anything else thrown while verifying is taken as a malformed token, never a 500.
  return new BearerTokenError('malformed', (error as Error)?.name ?? 'error');
}

import { hkdfSync, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { GatewayWebhookConfig } from '../config/gateway-auth';
import { secretsEqual } from './auth';
import { HttpError } from './http-error';

/**
 * Incode's OAuth2 webhook authentication (INCODE_WEBHOOK_AUTH=oauth2|both): Incode is given the token URL
 * (POST /api/webhooks/incode/token) and a client id/secret; it gets a token with the client-credentials grant
 * and sends `Authorization: Bearer <token>` on each webhook.
 *
 * Tokens are short-lived JWTs (HS256, `INCODE_WEBHOOK_TOKEN_TTL`) signed with a key derived (HKDF-SHA256) from
 * the client secret, which every gateway replica is configured with: any replica verifies a token another
 * issued, with nothing shared at run time and nothing kept in memory. Rotating the client secret rotates the
 * key, so tokens issued under the old secret stop working with it. Nothing in a token is secret; it names
 * only the client, its issue and expiry times and a random id.
 */
export class WebhookTokens {
  private readonly key: Uint8Array;

  constructor(
    clientId: string,
    clientSecret: string,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.clientId = clientId;
    this.key = new Uint8Array(hkdfSync('sha256', clientSecret, 'itdr-verify', 'incode-webhook-token-hs256', 32));
  }

  private readonly clientId: string;

  async issue(): Promise<{ token: string; expiresInSeconds: number }> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresInSeconds = Math.max(1, Math.floor(this.ttlMs / 1000));
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(this.clientId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + expiresInSeconds)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(this.key);
    return { token, expiresInSeconds };
  }

  /** True for an unexpired token signed with this key for this client (HS256 only; `none` and others refused). */
  async isValid(token: string): Promise<boolean> {
    try {
      await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        subject: this.clientId,
        currentDate: new Date(this.now()),
        requiredClaims: ['exp', 'iat'],
      });
      return true;
    } catch {
      return false;
    }
  }
}

const TOKEN_ISSUER = 'itdr-verify-gateway';
const TOKEN_AUDIENCE = 'itdr-verify-incode-webhook';

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The client credentials of a token request: HTTP Basic (what Incode sends), else client_id/client_secret in the form. */
function clientCredentials(
  req: Request,
): { clientId: string; clientSecret: string; basic: boolean; decoded?: { clientId: string; clientSecret: string } } | undefined {
  const authorization = req.get('authorization');
  if (authorization) {
    const match = BASIC.exec(authorization);
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 0) return undefined;
    // RFC 6749 §2.3.1 form-urlencodes both parts before Base64; not every client does, so both readings are tried.
    const decode = (value: string) => {
      try {
        return decodeURIComponent(value.replace(/\+/g, ' '));
      } catch {
        return value;
      }
    };
    const clientId = decoded.slice(0, separator);
    const clientSecret = decoded.slice(separator + 1);
    return { clientId, clientSecret, basic: true, decoded: { clientId: decode(clientId), clientSecret: decode(clientSecret) } };
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string') {
    return { clientId: body.client_id, clientSecret: body.client_secret, basic: false };
  }
  return undefined;
}

/** POST /api/webhooks/incode/token: the client-credentials grant, answered in OAuth2's own error format. */
export function webhookTokenEndpoint(options: { clientId: string; clientSecret: string; tokens: WebhookTokens; logger: Logger }) {
  const form = express.urlencoded({ extended: false, limit: 4096, parameterLimit: 10, type: () => true });
  const refuse = (res: Response, status: number, error: string, description: string, headers: Record<string, string> = {}) => {
    res
      .status(status)
      .set({ 'cache-control': 'no-store', pragma: 'no-cache', ...headers })
      .json({ error, error_description: description });
  };
  const issue = async (req: Request, res: Response) => {
    const credentials = clientCredentials(req);
    // Both compared every time, so the time taken does not say which one was wrong.
    const matches = (clientId: string, clientSecret: string) => {
      const idMatches = secretsEqual(clientId, options.clientId);
      const secretMatches = secretsEqual(clientSecret, options.clientSecret);
      return idMatches && secretMatches;
    };
    const raw = matches(credentials?.clientId ?? '', credentials?.clientSecret ?? '');
    const decoded = matches(credentials?.decoded?.clientId ?? '', credentials?.decoded?.clientSecret ?? '');
    if (!credentials || !(raw || (credentials.decoded && decoded))) {
      options.logger.warn({ basic: credentials?.basic, presented: Boolean(credentials) }, 'incode webhook token refused: invalid client');
      refuse(res, 401, 'invalid_client', 'Client authentication failed', { 'www-authenticate': 'Basic realm="itdr-verify-webhook"' });
      return;
    }
    const grantType = (req.body as Record<string, unknown> | undefined)?.grant_type;
    if (grantType === undefined || grantType === '') {
      refuse(res, 400, 'invalid_request', 'grant_type is required (client_credentials)');
      return;
    }
    if (grantType !== 'client_credentials') {
      refuse(res, 400, 'unsupported_grant_type', 'Only the client_credentials grant is supported');
      return;
    }
    const { token, expiresInSeconds } = await options.tokens.issue();
    options.logger.info({ expiresIn: expiresInSeconds }, 'incode webhook token issued');
    res
      .status(200)
      .set({ 'cache-control': 'no-store', pragma: 'no-cache' })
      .json({ access_token: token, token_type: 'Bearer', expires_in: expiresInSeconds });
  };
  return [form, issue] as const;
}

/**
 * Authenticates a webhook per INCODE_WEBHOOK_AUTH: the shared-secret header, an OAuth2 bearer token issued at the
 * token URL, or (both) either of them. Returns the 401 to answer, or undefined when the caller is authenticated;
 * the caller decides when to answer it (failures are rate-limited per client IP before they are answered).
 */
export function webhookAuthFailure(
  config: GatewayWebhookConfig,
  tokens: WebhookTokens | undefined,
): (req: Request) => Promise<HttpError | undefined> {
  const mode = config.auth;
  const acceptSecret = mode !== 'oauth2' && Boolean(config.secret);
  const acceptBearer = mode !== 'shared-secret' && Boolean(tokens);
  return async (req) => {
    if (acceptBearer) {
      const authorization = req.get('authorization');
      const match = authorization ? BEARER.exec(authorization) : null;
      if (match?.[1] && (await tokens!.isValid(match[1]))) return undefined;
      if (authorization || !acceptSecret) {
        return new HttpError(401, 'unauthenticated', 'Missing, invalid or expired bearer token', undefined, {
          'www-authenticate': authorization ? 'Bearer error="invalid_token"' : 'Bearer',
        });
      }
    }
    const given = req.get(config.headerName);
    if (!acceptSecret || !given || !secretsEqual(given, config.secret!)) {
      return new HttpError(401, 'unauthenticated', `Missing or invalid ${config.headerName} header`);
    }
    return undefined;
  };
}

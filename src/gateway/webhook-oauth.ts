import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { GatewayWebhookConfig } from '../config/config';
import { secretsEqual } from './auth';
import { HttpError } from './http-error';

/**
 * Incode's OAuth2 webhook authentication (INCODE_WEBHOOK_AUTH=oauth2|both): Incode is given the token URL
 * (POST /api/webhooks/incode/token) and a client id/secret; it gets a token with the client-credentials grant
 * and sends `Authorization: Bearer <token>` on each webhook. Tokens are random and opaque, kept in this process's
 * memory as SHA-256 hashes with their expiry (a restart or a second replica makes Incode fetch a new one after a
 * 401, as for any expired token).
 */
export class WebhookTokenStore {
  private readonly tokens = new Map<string, number>();

  constructor(
    readonly ttlMs: number,
    /** At most this many live tokens; issuing past it drops the oldest. */
    readonly maxTokens = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): { token: string; expiresInSeconds: number } {
    const now = this.now();
    for (const [hash, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(hash);
    while (this.tokens.size >= this.maxTokens) {
      const oldest = this.tokens.keys().next().value;
      if (oldest === undefined) break;
      this.tokens.delete(oldest);
    }
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(hashToken(token), now + this.ttlMs);
    return { token, expiresInSeconds: Math.max(1, Math.floor(this.ttlMs / 1000)) };
  }

  /** True for a token this store issued that has not expired (looked up by hash: no comparison of secrets). */
  isValid(token: string): boolean {
    const hash = hashToken(token);
    const expiresAt = this.tokens.get(hash);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.tokens.delete(hash);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.tokens.size;
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The client credentials of a token request: HTTP Basic (what Incode sends), else client_id/client_secret in the form. */
function clientCredentials(req: Request): { clientId: string; clientSecret: string; basic: boolean; decoded?: { clientId: string; clientSecret: string } } | undefined {
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
export function webhookTokenEndpoint(options: { clientId: string; clientSecret: string; tokens: WebhookTokenStore; logger: Logger }) {
  const form = express.urlencoded({ extended: false, limit: 4096, parameterLimit: 10, type: () => true });
  const refuse = (res: Response, status: number, error: string, description: string, headers: Record<string, string> = {}) => {
    res.status(status).set({ 'cache-control': 'no-store', pragma: 'no-cache', ...headers }).json({ error, error_description: description });
  };
  const issue = (req: Request, res: Response) => {
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
    const { token, expiresInSeconds } = options.tokens.issue();
    options.logger.info({ expiresIn: expiresInSeconds }, 'incode webhook token issued');
    res.status(200).set({ 'cache-control': 'no-store', pragma: 'no-cache' }).json({ access_token: token, token_type: 'Bearer', expires_in: expiresInSeconds });
  };
  return [form, issue] as const;
}

/**
 * Authenticates a webhook per INCODE_WEBHOOK_AUTH: the shared-secret header, an OAuth2 bearer token issued at the
 * token URL, or (both) either of them. Returns the 401 to answer, or undefined when the caller is authenticated;
 * the caller decides when to answer it (failures are rate-limited per client IP before they are answered).
 */
export function webhookAuthFailure(config: GatewayWebhookConfig, tokens: WebhookTokenStore | undefined): (req: Request) => HttpError | undefined {
  const mode = config.auth ?? 'shared-secret';
  const acceptSecret = mode !== 'oauth2' && Boolean(config.secret);
  const acceptBearer = mode !== 'shared-secret' && Boolean(tokens);
  return (req) => {
    if (acceptBearer) {
      const authorization = req.get('authorization');
      const match = authorization ? BEARER.exec(authorization) : null;
      if (match?.[1] && tokens!.isValid(match[1])) return undefined;
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

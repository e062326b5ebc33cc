import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, adminErrorHandler } from './http';

/**
 * Entra ID access tokens *for an API* (here: the gateway), as a managed identity or app gets them to call an
 * API protected by Entra ID: RS256 JWTs signed by the tenant's keys, published as the tenant's JWKS at
 * `/{tenant}/discovery/v2.0/keys` (the jwks_uri of entra.ts's OpenID configuration) and `/{tenant}/discovery/keys`
 * (v1), plus the v1 OpenID configuration (`/{tenant}/.well-known/openid-configuration`, issuer sts.windows.net).
 *
 * v1.0 tokens (the default, what a managed identity gets for an app whose accessTokenAcceptedVersion is unset)
 * carry `iss: https://sts.windows.net/{tenant}/` and `appid`; v2.0 tokens `iss: {authorityHost}/{tenant}/v2.0`
 * and `azp`. Tests forge the bad ones through `claims`/`header` overrides or `signWith`.
 *
 * The Azure tokens ARM and Key Vault accept (identity.ts) stay opaque: only the gateway validates JWTs.
 */

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public JWK as published (kid, use, alg, x5t included). */
  jwk: JsonWebKey & { kid: string };
}

export interface AccessTokenRequest {
  /** `aud`: the API's App ID URI (v1) or client id (v2). */
  audience: string;
  /** `oid` (and `sub`): the calling service principal, e.g. the playbook's managed identity. */
  objectId: string;
  /** `appid` / `azp`: the caller's client id; random by default. */
  appId?: string;
  /** Token format; default '1.0'. */
  version?: '1.0' | '2.0';
  lifetimeSeconds?: number;
  /** `iat`/`nbf`; default now. `exp` = issuedAt + lifetime. */
  issuedAt?: Date;
  /** Claims to add, override, or remove (`undefined`). */
  claims?: Record<string, unknown>;
  /** Header fields to add, override, or remove (`undefined`). The signature always covers what is sent. */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the tenant's current one (a forged token), e.g. a key made by the test. */
  signWith?: KeyObject;
}

export class EntraTokenIssuer {
  private readonly keys: SigningKey[] = [];
  /** Tokens issued through `issue` (counts only; the values are not kept). */
  issuedCount = 0;

  constructor(
    readonly tenantId: string,
    private readonly authorityHost: () => string,
  ) {
    this.rotateKey();
  }

  /** The key new tokens are signed with. */
  get currentKey(): SigningKey {
    return this.keys[this.keys.length - 1];
  }

  /** Issuers of the tenant's v2.0 and v1.0 tokens. */
  issuer(version: '1.0' | '2.0'): string {
    return version === '2.0' ? `${this.authorityHost()}/${this.tenantId}/v2.0` : `https://sts.windows.net/${this.tenantId}/`;
  }

  /** Adds a signing key (published at once, used for new tokens); old keys stay published, as in Entra's rollover. */
  rotateKey(): SigningKey {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const thumbprint = createHash('sha1')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url');
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: thumbprint, x5t: thumbprint, use: 'sig', alg: 'RS256' };
    const key: SigningKey = { kid: thumbprint, privateKey, publicKey, jwk };
    this.keys.push(key);
    return key;
  }

  /** Stops publishing a key: tokens it signed no longer validate once the gateway refreshes its key cache. */
  retireKey(kid: string): void {
    const index = this.keys.findIndex((key) => key.kid === kid);
    if (index >= 0 && this.keys.length > 1) this.keys.splice(index, 1);
  }

  jwks(): { keys: Array<JsonWebKey & { kid: string }> } {
    return { keys: this.keys.map((key) => ({ ...key.jwk })) };
  }

  /** An RS256 access token (or, with overrides, any variation of one). */
  issue(request: AccessTokenRequest): string {
    const version = request.version ?? '1.0';
    const now = Math.floor((request.issuedAt?.getTime() ?? Date.now()) / 1000);
    const appId = request.appId ?? randomUUID();
    const claims: Record<string, unknown> = {
      aud: request.audience,
      iss: this.issuer(version),
      iat: now,
      nbf: now,
      exp: now + (request.lifetimeSeconds ?? 3600),
      aio: randomBytes(24).toString('base64url'),
      ...(version === '2.0' ? { azp: appId, azpacr: '2' } : { appid: appId, appidacr: '2', idp: this.issuer('1.0') }),
      idtyp: 'app',
      oid: request.objectId,
      rh: `0.${randomBytes(16).toString('base64url')}.`,
      sub: request.objectId,
      tid: this.tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: version,
      ...request.claims,
    };
    const key = this.currentKey;
    const header: Record<string, unknown> = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid, ...request.header };
    const encode = (value: Record<string, unknown>) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${encode(header)}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), request.signWith ?? key.privateKey).toString('base64url');
    this.issuedCount += 1;
    return `${signingInput}.${signature}`;
  }
}

/** JWKS (v2 and v1 paths) and the v1 OpenID configuration of the tenant. Mount before entra.ts's router. */
export function entraJwtRouter(issuer: EntraTokenIssuer, baseUrl: () => string): Router {
  const router = express.Router();
  const ours = (tenant: unknown) => typeof tenant === 'string' && tenant.toLowerCase() === issuer.tenantId.toLowerCase();
  router.get(['/:tenant/discovery/v2.0/keys', '/:tenant/discovery/keys'], (req, res, next) => {
    if (!ours(req.params.tenant)) return next(); // entra.ts answers unknown tenants in Entra's shape
    res.set('Cache-Control', 'max-age=86400, private');
    res.json(issuer.jwks());
  });
  router.get('/:tenant/.well-known/openid-configuration', (req, res, next) => {
    if (!ours(req.params.tenant)) return next();
    const base = baseUrl();
    const tenant = issuer.tenantId;
    res.json({
      token_endpoint: `${base}/${tenant}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${tenant}/discovery/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
      scopes_supported: ['openid'],
      issuer: issuer.issuer('1.0'),
      authorization_endpoint: `${base}/${tenant}/oauth2/authorize`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'amr', 'nonce', 'tid', 'ver', 'oid', 'appid'],
      tenant_region_scope: null,
      cloud_instance_name: 'simulator.invalid',
    });
  });
  return router;
}

const accessTokenRequestSchema = z
  .object({
    audience: z.string().min(1).max(500),
    objectId: z.string().min(1).max(100),
    appId: z.string().min(1).max(100).optional(),
    version: z.enum(['1.0', '2.0']).optional(),
    lifetimeSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict();

/**
 * `POST /simulator/entra/access-tokens` `{audience, objectId, version?, lifetimeSeconds?}` → `{access_token, ...}`:
 * what a managed identity would get for the gateway's App ID URI (e.g. for a curl against `npm run dev`).
 */
export function entraJwtAdminRouter(issuer: EntraTokenIssuer): Router {
  const router = express.Router();
  router.post('/entra/access-tokens', express.json({ limit: JSON_LIMIT }), (req, res) => {
    const parsed = accessTokenRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'InvalidTokenRequest', message: z.prettifyError(parsed.error) } });
      return;
    }
    const lifetime = parsed.data.lifetimeSeconds ?? 3600;
    res.json({ token_type: 'Bearer', expires_in: lifetime, access_token: issuer.issue({ ...parsed.data, lifetimeSeconds: lifetime }) });
  });
  router.use('/entra/access-tokens', adminErrorHandler);
  return router;
}

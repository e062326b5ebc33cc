import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { EntraDirectory } from './entra-store';
import { JSON_LIMIT, adminErrorHandler, type ErrorBodyBuilder } from './http';
import type { AzureTokenStore } from './identity';

/**
 * Microsoft Entra ID, as MSAL (under @azure/identity's ClientSecretCredential, ClientCertificateCredential and
 * WorkloadIdentityCredential) calls it with `disableInstanceDiscovery: true`: the tenant's OpenID configuration
 * (`GET /{tenant}/v2.0/.well-known/openid-configuration`, whose token_endpoint MSAL then uses; its issuer must
 * be on the same origin) and the client-credentials grant (`POST /{tenant}/oauth2/v2.0/token`). Without
 * disableInstanceDiscovery MSAL would first ask https://login.microsoftonline.com/common/discovery/instance
 * about this host, which no simulator can answer.
 */

/** Entra's error shape: OAuth2 `error` + `error_description` (AADSTS code first), with trace and correlation ids. */
export function entraError(error: string, description: string): Record<string, unknown> {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const code = /^AADSTS(\d+)/.exec(description)?.[1];
  return {
    error,
    error_description: `${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: code ? [Number(code)] : [],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  };
}

/** For faults and unknown routes. */
export const entraErrorBody: ErrorBodyBuilder = (_status, code, message) =>
  entraError(code.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase(), message);

// The scopes MSAL may add; a client-credentials request names exactly one resource besides them.
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export function entraRouter(directory: EntraDirectory, tokens: AzureTokenStore, baseUrl: () => string): Router {
  const router = express.Router();

  const tenantOf = (req: Request, res: Response): string | undefined => {
    const tenant = String(req.params.tenant ?? '');
    if (tenant.toLowerCase() === directory.tenantId.toLowerCase()) return directory.tenantId;
    res
      .status(400)
      .json(
        entraError(
          'invalid_tenant',
          `AADSTS90002: Tenant '${tenant.slice(0, 100)}' not found. Check to make sure you have the correct tenant ID and are ` +
            `signing into the correct cloud.`,
        ),
      );
    return undefined;
  };

  router.get('/:tenant/v2.0/.well-known/openid-configuration', (req, res) => {
    const tenant = tenantOf(req, res);
    if (!tenant) return;
    res.json(openIdConfiguration(baseUrl(), tenant));
  });

  router.get('/:tenant/discovery/v2.0/keys', (req, res) => {
    if (!tenantOf(req, res)) return;
    // Access tokens here are opaque: there is no signing key to publish.
    res.json({ keys: [] });
  });

  router.post('/:tenant/oauth2/v2.0/token', express.urlencoded({ extended: false, limit: '64kb' }), (req, res) => {
    directory.tokenRequestCount += 1;
    res.set('Cache-Control', 'no-store, no-cache');
    res.set('Pragma', 'no-cache');
    const reject = (status: number, error: string, description: string) => res.status(status).json(entraError(error, description));
    const tenant = tenantOf(req, res);
    if (!tenant) return;
    if (!req.is('application/x-www-form-urlencoded')) {
      reject(400, 'invalid_request', "AADSTS900144: The request body must contain the following parameter: 'grant_type'.");
      return;
    }
    const form = (req.body ?? {}) as Record<string, unknown>;
    for (const name of ['grant_type', 'client_id', 'scope']) {
      if (typeof form[name] !== 'string' || !form[name]) {
        reject(400, 'invalid_request', `AADSTS900144: The request body must contain the following parameter: '${name}'.`);
        return;
      }
    }
    if (form.grant_type !== 'client_credentials') {
      reject(
        400,
        'unsupported_grant_type',
        `AADSTS70003: The app requested an unsupported grant type '${String(form.grant_type).slice(0, 60)}'.`,
      );
      return;
    }
    const scopes = String(form.scope)
      .split(/\s+/)
      .filter((scope) => scope && !OIDC_SCOPES.has(scope.toLowerCase()));
    const scope = scopes[0];
    if (scopes.length !== 1 || !scope || !scope.endsWith('/.default')) {
      reject(
        400,
        'invalid_scope',
        `AADSTS1002012: The provided value for scope ${scopes.join(' ').slice(0, 200)} is not valid. Client credential flows ` +
          `must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
      return;
    }
    const base = baseUrl();
    const result = directory.authenticate(form, [
      `${base}/${tenant}/oauth2/v2.0/token`,
      `${base}/${tenant}/v2.0`,
      `${base}/${tenant}/oauth2/token`,
    ]);
    if (!result.ok) {
      reject(result.status, result.error, result.description);
      return;
    }
    const resource = scope.slice(0, -'/.default'.length);
    const { accessToken } = tokens.issue(resource, result.app.clientId, false, directory.tokenLifetimeSeconds, result.method);
    res.json({
      token_type: 'Bearer',
      expires_in: directory.tokenLifetimeSeconds,
      ext_expires_in: directory.tokenLifetimeSeconds,
      access_token: accessToken,
    });
  });
  return router;
}

/** The fields real Entra ID returns for a tenant; MSAL needs authorization_endpoint, token_endpoint, issuer, jwks_uri. */
export function openIdConfiguration(base: string, tenant: string): Record<string, unknown> {
  return {
    token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/${tenant}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'at_hash', 'c_hash'],
    tenant_region_scope: null,
    cloud_instance_name: 'simulator.invalid',
  };
}

const registrationSchema = z
  .object({
    clientId: z.string().min(1).max(100).optional(),
    displayName: z.string().min(1).max(200).optional(),
    clientSecret: z.string().min(1).max(200).optional(),
    certificatePem: z.string().min(1).max(20_000).optional(),
    federatedToken: z.string().min(1).max(20_000).optional(),
  })
  .strict();

/**
 * `/simulator/entra/applications`: GET lists the app registrations (which credentials each has, not their
 * values); POST registers one (JSON like registerApplication's input) and answers it, generated secret included.
 */
export function entraAdminRouter(directory: EntraDirectory): Router {
  const router = express.Router();
  router.use(express.json({ limit: JSON_LIMIT }));
  router.get('/entra/applications', (_req, res) => {
    res.json({
      tenantId: directory.tenantId,
      value: directory.applications().map((app) => ({
        clientId: app.clientId,
        displayName: app.displayName,
        credentials: [
          ...(app.clientSecret ? ['clientSecret'] : []),
          ...(app.certificatePem ? ['clientCertificate'] : []),
          ...(app.federatedToken ? ['federatedToken'] : []),
        ],
      })),
    });
  });
  router.post('/entra/applications', (req, res) => {
    const parsed = registrationSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'InvalidApplication', message: z.prettifyError(parsed.error) } });
      return;
    }
    try {
      res.status(201).json(directory.registerApplication(parsed.data));
    } catch (error) {
      res.status(400).json({ error: { code: 'InvalidApplication', message: (error as Error).message } });
    }
  });
  router.use(adminErrorHandler);
  return router;
}

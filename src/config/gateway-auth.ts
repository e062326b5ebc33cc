import { z } from 'zod';
import { csvSchema, durationSchema, httpsUrlSchema, reportOn } from './parse';
import { GUID } from './workspaces';

/**
 * How callers authenticate to the gateway: API keys and/or Entra ID tokens on the control endpoints
 * (GATEWAY_API_KEYS, GATEWAY_ENTRA_*), a shared secret and/or OAuth2 client credentials on Incode's webhook
 * (INCODE_WEBHOOK_*).
 */

export interface GatewayCaller {
  name: string;
  key: string;
}

/** A managed identity or app allowed to call the control endpoints with an Entra ID token (its `oid`). */
export interface EntraCaller {
  name: string;
  objectId: string;
}

/** Entra ID bearer-token authentication of the control endpoints (GATEWAY_ENTRA_*). */
export interface GatewayEntraConfig {
  tenantId: string;
  /** Accepted `aud` values: the App ID URI (v1 tokens) and/or the app's client id (v2 tokens). */
  audiences: string[];
  allowedCallers: EntraCaller[];
  /** Authority host without the tenant, e.g. https://login.microsoftonline.com. */
  authorityHost: string;
  /** The tenant's signing keys (JWKS). */
  jwksUrl: string;
}

/** INCODE_WEBHOOK_AUTH: how Incode authenticates its webhooks (a shared-secret header, OAuth2 client credentials, or either). */
export const WEBHOOK_AUTH_MODES = ['shared-secret', 'oauth2', 'both'] as const;
export type WebhookAuthMode = (typeof WEBHOOK_AUTH_MODES)[number];

export interface GatewayWebhookConfig {
  auth: WebhookAuthMode;
  /** INCODE_WEBHOOK_SECRET: set when `auth` is shared-secret (the default) or both. */
  secret?: string;
  headerName: string;
  /** The client Incode authenticates as at POST /api/webhooks/incode/token: set when `auth` is oauth2 or both. */
  oauth2?: { clientId: string; clientSecret: string; tokenTtlMs: number };
}

/** `GATEWAY_API_KEYS=sentinel-playbook=<key>,soc-cli=<key>`: the name shows up in audit comments. */
const apiKeysSchema = csvSchema
  .pipe(z.array(z.string()).min(1, 'needs at least one name=key entry'))
  .transform((entries, ctx): GatewayCaller[] =>
    entries.map((entry, index) => {
      const separator = entry.indexOf('=');
      const name = separator > 0 ? entry.slice(0, separator) : `api-key-${index + 1}`;
      const key = separator > 0 ? entry.slice(separator + 1) : entry;
      if (key.length < 24) ctx.addIssue({ code: 'custom', message: `key "${name}" is shorter than 24 characters` });
      return { name, key };
    }),
  );

/**
 * `GATEWAY_ENTRA_ALLOWED_CALLERS=sentinel-playbook=<oid>,<oid>`: object ids of the service principals (managed
 * identities) allowed to call; the name shows up in audit comments.
 */
const entraCallersSchema = csvSchema.transform((entries, ctx): EntraCaller[] => {
  const seen = new Set<string>();
  return entries.map((entry) => {
    const separator = entry.lastIndexOf('=');
    const objectId = (separator > 0 ? entry.slice(separator + 1) : entry).trim().toLowerCase();
    const name = separator > 0 ? entry.slice(0, separator).trim() : `entra-${objectId}`;
    if (!GUID.test(objectId)) ctx.addIssue({ code: 'custom', message: `"${name}" is not an object id (a GUID)` });
    else if (seen.has(objectId)) ctx.addIssue({ code: 'custom', message: `object id of "${name}" is listed twice` });
    seen.add(objectId);
    return { name, objectId };
  });
});

export const gatewayAuthShape = {
  // Optional when Entra ID authentication is configured; at least one of the two is (checkGatewayAuth).
  GATEWAY_API_KEYS: apiKeysSchema.optional(),
  GATEWAY_ENTRA_TENANT_ID: z
    .string()
    .regex(GUID, "must be the tenant id (a GUID), as in the tokens' tid claim")
    .transform((value) => value.toLowerCase())
    .optional(),
  GATEWAY_ENTRA_AUDIENCE: csvSchema.optional(),
  GATEWAY_ENTRA_ALLOWED_CALLERS: entraCallersSchema.optional(),
  GATEWAY_ENTRA_AUTHORITY_HOST: httpsUrlSchema.optional(),
  GATEWAY_ENTRA_JWKS_URL: httpsUrlSchema.optional(),
  INCODE_WEBHOOK_AUTH: z.enum(WEBHOOK_AUTH_MODES).default('shared-secret'),
  INCODE_WEBHOOK_SECRET: z.string().min(24, 'must be at least 24 characters').optional(),
  INCODE_WEBHOOK_SECRET_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/)
    .default('x-incode-webhook-secret'),
  INCODE_WEBHOOK_CLIENT_ID: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 printable characters without spaces')
    .refine((value) => !value.includes(':'), 'must not contain ":" (HTTP Basic)')
    .optional(),
  INCODE_WEBHOOK_CLIENT_SECRET: z.string().min(24, 'must be at least 24 characters').max(512).optional(),
  INCODE_WEBHOOK_TOKEN_TTL: durationSchema
    .pipe(
      z
        .number()
        .min(1_000, 'must be at least 1s')
        .max(24 * 3_600_000, 'must be at most 24h'),
    )
    .default(10 * 60_000),
};

type GatewayAuthEnv = z.infer<z.ZodObject<typeof gatewayAuthShape>>;

const ENTRA_COMPANIONS = [
  'GATEWAY_ENTRA_AUDIENCE',
  'GATEWAY_ENTRA_ALLOWED_CALLERS',
  'GATEWAY_ENTRA_AUTHORITY_HOST',
  'GATEWAY_ENTRA_JWKS_URL',
] as const;

/**
 * The rules between the variables: API keys or Entra ID (or both); GATEWAY_ENTRA_* all or nothing; the
 * webhook's mode and its credentials (shared-secret needs INCODE_WEBHOOK_SECRET; oauth2 needs
 * INCODE_WEBHOOK_CLIENT_ID and INCODE_WEBHOOK_CLIENT_SECRET, given to Incode with the token URL; both needs all three).
 */
export function checkGatewayAuth(env: GatewayAuthEnv, ctx: z.RefinementCtx): void {
  if (env.GATEWAY_ENTRA_TENANT_ID) {
    if (!env.GATEWAY_ENTRA_AUDIENCE?.length) {
      reportOn(
        ctx,
        'GATEWAY_ENTRA_AUDIENCE',
        "is required with GATEWAY_ENTRA_TENANT_ID (the App ID URI and/or client id of the gateway's app registration)",
      );
    }
    if (!env.GATEWAY_ENTRA_ALLOWED_CALLERS?.length) {
      reportOn(ctx, 'GATEWAY_ENTRA_ALLOWED_CALLERS', 'is required with GATEWAY_ENTRA_TENANT_ID (name=object-id pairs)');
    }
  } else {
    const stray = ENTRA_COMPANIONS.filter((name) => env[name] !== undefined);
    if (stray.length > 0) reportOn(ctx, 'GATEWAY_ENTRA_TENANT_ID', `is required when ${stray.join(', ')} is set`);
    else if (!env.GATEWAY_API_KEYS) {
      reportOn(
        ctx,
        'GATEWAY_API_KEYS',
        'is required unless Entra ID authentication is configured (GATEWAY_ENTRA_TENANT_ID, GATEWAY_ENTRA_AUDIENCE, ' +
          'GATEWAY_ENTRA_ALLOWED_CALLERS)',
      );
    }
  }
  const mode = env.INCODE_WEBHOOK_AUTH;
  const required = [
    ...(mode !== 'oauth2' ? (['INCODE_WEBHOOK_SECRET'] as const) : []),
    ...(mode !== 'shared-secret' ? (['INCODE_WEBHOOK_CLIENT_ID', 'INCODE_WEBHOOK_CLIENT_SECRET'] as const) : []),
  ];
  for (const name of required) if (!env[name]) reportOn(ctx, name, `is required with INCODE_WEBHOOK_AUTH=${mode}`);
}

/** From variables that passed `checkGatewayAuth`; undefined when GATEWAY_ENTRA_TENANT_ID is unset. */
export function entraFrom(env: GatewayAuthEnv, defaultAuthorityHost: string): GatewayEntraConfig | undefined {
  const tenantId = env.GATEWAY_ENTRA_TENANT_ID;
  if (!tenantId) return undefined;
  const authorityHost = (env.GATEWAY_ENTRA_AUTHORITY_HOST ?? defaultAuthorityHost).replace(/\/+$/, '');
  return Object.freeze({
    tenantId,
    audiences: env.GATEWAY_ENTRA_AUDIENCE ?? [],
    allowedCallers: env.GATEWAY_ENTRA_ALLOWED_CALLERS ?? [],
    authorityHost,
    jwksUrl: env.GATEWAY_ENTRA_JWKS_URL ?? `${authorityHost}/${tenantId}/discovery/v2.0/keys`,
  });
}

/** From variables that passed `checkGatewayAuth`, which makes each mode's credentials present. */
export function webhookFrom(env: GatewayAuthEnv): GatewayWebhookConfig {
  const mode = env.INCODE_WEBHOOK_AUTH;
  const { INCODE_WEBHOOK_CLIENT_ID: clientId, INCODE_WEBHOOK_CLIENT_SECRET: clientSecret } = env;
  return {
    auth: mode,
    secret: mode !== 'oauth2' ? env.INCODE_WEBHOOK_SECRET : undefined,
    headerName: env.INCODE_WEBHOOK_SECRET_HEADER.toLowerCase(),
    oauth2:
      mode !== 'shared-secret' && clientId && clientSecret
        ? { clientId, clientSecret, tokenTtlMs: env.INCODE_WEBHOOK_TOKEN_TTL }
        : undefined,
  };
}

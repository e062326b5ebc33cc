import { isIP } from 'node:net';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, adminErrorHandler, queryParam, type ErrorBodyBuilder } from './http';
import { normalizeResource, type AzureTokenStore, type TokenCheck } from './identity';
import { isValidSecretName, type KeyVaultStore, type SecretVersion } from './key-vault-store';

/** Key Vault's error shape. */
export const keyVaultErrorBody: ErrorBodyBuilder = (_status, code, message) => ({ error: { code, message } });

export const PUBLIC_VAULT_RESOURCE = 'https://vault.azure.net';
// Key Vault accepts 7.x and, since 2025, date-style versions (the JS SDK 4.12 sends 2026-04-01).
const API_VERSION = /^(7\.\d+(-preview)?|20\d\d-\d\d-\d\d(-preview)?)$/;

/**
 * The resource a vault names in its challenge. The SDK (keyvault-common verifyChallengeResource) accepts it only
 * if the vault's host name ends with "." + the resource's host: a real vault, x.vault.azure.net, answers
 * https://vault.azure.net. No resource can pass that test for 127.0.0.1 or localhost (an IP or a single label),
 * so those get the public one and the client needs disableChallengeResourceVerification; a vault addressed as
 * NAME.vault.localhost answers https://vault.localhost and passes without it.
 */
export function challengeResourceFor(hostname: string): string {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) !== 0) return PUBLIC_VAULT_RESOURCE;
  const parent = /^[^.]+\.(.+)$/.exec(host)?.[1];
  return parent ? `https://${parent}` : PUBLIC_VAULT_RESOURCE;
}

export function keyVaultRouter(store: KeyVaultStore, tokens: AzureTokenStore, tenantId: string): Router {
  const router = express.Router();
  router.use(requireVaultToken(tokens, tenantId));
  router.use((req, res, next) => {
    const apiVersion = queryParam(req, 'api-version');
    if (!apiVersion) {
      res.status(400).json(keyVaultErrorBody(400, 'BadParameter', 'The api-version query parameter is missing.', req));
      return;
    }
    if (!API_VERSION.test(apiVersion)) {
      res.status(400).json(keyVaultErrorBody(400, 'BadParameter', `The specified version (${apiVersion}) is not recognized.`, req));
      return;
    }
    next();
  });
  // The SDK asks for the latest version as /secrets/NAME/ (an empty version segment).
  router.get('/secrets/:name{/:version}', (req, res) => {
    const name = req.params.name ?? '';
    const version = req.params.version || undefined;
    if (!isValidSecretName(name)) {
      res.status(400).json(keyVaultErrorBody(400, 'BadParameter', 'The secret name is not valid.', req));
      return;
    }
    store.countRead(name);
    const secret = store.getSecret(name, version);
    if (!secret) {
      res
        .status(404)
        .json(
          keyVaultErrorBody(
            404,
            'SecretNotFound',
            `A secret with (name/id) ${version ? `${name}/${version}` : name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
            req,
          ),
        );
      return;
    }
    if (!secret.enabled) {
      res.status(403).json({
        error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } },
      });
      return;
    }
    res.json(secretBundle(`https://${req.get('host')}`, secret));
  });
  return router;
}

function secretBundle(vaultUrl: string, secret: SecretVersion): unknown {
  const seconds = (date: Date | undefined) => (date ? Math.floor(date.getTime() / 1000) : undefined);
  return {
    value: secret.value,
    id: `${vaultUrl}/secrets/${secret.name}/${secret.version}`,
    ...(secret.contentType ? { contentType: secret.contentType } : {}),
    ...(secret.tags ? { tags: secret.tags } : {}),
    attributes: {
      enabled: secret.enabled,
      ...(secret.notBefore ? { nbf: seconds(secret.notBefore) } : {}),
      ...(secret.expiresOn ? { exp: seconds(secret.expiresOn) } : {}),
      created: seconds(secret.createdOn),
      updated: seconds(secret.updatedOn),
      recoverableDays: 90,
      recoveryLevel: 'Recoverable+Purgeable',
    },
  };
}

/**
 * Key Vault's challenge: any request without a valid token gets 401 and a WWW-Authenticate header naming the
 * authority (with the tenant) and the resource to get a token for. The SDK sends its first request bare on
 * purpose to learn these.
 */
function requireVaultToken(tokens: AzureTokenStore, tenantId: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const resource = challengeResourceFor(req.hostname ?? '');
    const expected = normalizeResource(resource);
    const check = tokens.check(req.get('authorization'), (tokenResource) => tokenResource === expected);
    if (check.ok) return next();
    res.set('WWW-Authenticate', `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${resource}"`);
    res.status(401).json(keyVaultErrorBody(401, 'Unauthorized', unauthorizedMessage(check, resource), req));
  };
}

function unauthorizedMessage(check: Exclude<TokenCheck, { ok: true }>, resource: string): string {
  switch (check.reason) {
    case 'missing':
      return 'AKV10000: Request is missing a Bearer or PoP token.';
    case 'audience':
      return `AKV10022: Invalid audience. Expected ${resource}, found: ${check.resource}.`;
    case 'expired':
      return 'AKV10032: Token expired.';
    case 'malformed':
    case 'unknown':
      return 'AKV10013: The access token is not valid.';
  }
}

const adminSecretSchema = z
  .object({
    value: z.string(),
    enabled: z.boolean().optional(),
    expiresOn: z.iso.datetime({ offset: true }).optional(),
    contentType: z.string().max(255).optional(),
  })
  .strict();

/** `PUT /simulator/keyvault/secrets/NAME` {value, enabled?, expiresOn?}: rotation from scripts. */
export function keyVaultAdminRouter(store: KeyVaultStore): Router {
  const router = express.Router();
  router.use(express.json({ limit: JSON_LIMIT }));
  router.put('/keyvault/secrets/:name', (req, res) => {
    const parsed = adminSecretSchema.safeParse(req.body);
    const name = req.params.name ?? '';
    if (!parsed.success || !isValidSecretName(name)) {
      res
        .status(400)
        .json({ error: { code: 'BadRequest', message: parsed.success ? 'Invalid secret name.' : z.prettifyError(parsed.error) } });
      return;
    }
    const { value, expiresOn, ...rest } = parsed.data;
    const version = store.setSecret(name, value, { ...rest, expiresOn: expiresOn ? new Date(expiresOn) : undefined });
    res.status(201).json({ name: version.name, version: version.version, enabled: version.enabled });
  });
  router.use(adminErrorHandler);
  return router;
}

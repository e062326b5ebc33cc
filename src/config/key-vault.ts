import { z } from 'zod';
import { checkKeyVaultUrl, type AzureCloud } from './azure-cloud';
import { durationSchema, httpsUrlSchema } from './parse';

/** The worker's Key Vault: where Incode's six settings are, how long they are cached, and the daily expiry check. */

export interface IncodeSecretNames {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  integrationReference: string;
  authUrl: string;
  apiBaseUrl: string;
}

export const DEFAULT_SECRET_NAMES: IncodeSecretNames = {
  clientId: 'incode-client-id',
  clientSecret: 'incode-client-secret',
  apiKey: 'incode-api-key',
  integrationReference: 'incode-integration-reference',
  authUrl: 'incode-auth-url',
  apiBaseUrl: 'incode-api-base-url',
};

export interface KeyVaultConfig {
  vaultUrl: string;
  /**
   * The SDK checks that the vault's host belongs to the resource its auth challenge names. Only the
   * simulator (an IP address, where no such check can pass) needs it off.
   */
  verifyChallengeResource: boolean;
  secretNames: IncodeSecretNames;
  cacheTtlMs: number;
}

/** The daily check of the Key Vault secrets' expiry dates (SECRET_EXPIRY_*). */
export interface SecretExpiryConfig {
  warningDays: number;
  /** POSTed (names and dates only) when a secret expires within warningDays. */
  webhookUrl?: string;
  /** SECRET_EXPIRY_SCHEDULE; unset: the worker's default (on in production, off in the local stack). */
  schedule?: boolean;
}

/** KEY_VAULT_SECRET_<FIELD>: the name of each of Incode's six secrets in the vault (Key Vault's name rules). */
const secretNameSchema = z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault secret name: 1-127 letters, digits and hyphens');

export const keyVaultShape = {
  AZURE_KEY_VAULT_URL: httpsUrlSchema,
  SECRET_CACHE_TTL: durationSchema.default(5 * 60_000),
  KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: z.enum(['true', 'false']).default('true'),
  KEY_VAULT_SECRET_CLIENT_ID: secretNameSchema.default(DEFAULT_SECRET_NAMES.clientId),
  KEY_VAULT_SECRET_CLIENT_SECRET: secretNameSchema.default(DEFAULT_SECRET_NAMES.clientSecret),
  KEY_VAULT_SECRET_API_KEY: secretNameSchema.default(DEFAULT_SECRET_NAMES.apiKey),
  KEY_VAULT_SECRET_INTEGRATION_REFERENCE: secretNameSchema.default(DEFAULT_SECRET_NAMES.integrationReference),
  KEY_VAULT_SECRET_AUTH_URL: secretNameSchema.default(DEFAULT_SECRET_NAMES.authUrl),
  KEY_VAULT_SECRET_API_BASE_URL: secretNameSchema.default(DEFAULT_SECRET_NAMES.apiBaseUrl),
};

export const secretExpiryShape = {
  SECRET_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  SECRET_EXPIRY_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
  SECRET_EXPIRY_SCHEDULE: z.enum(['true', 'false']).optional(),
};

/** Fails (naming AZURE_KEY_VAULT_URL) when the vault is not in the configured cloud. */
export function keyVaultFrom(env: z.infer<z.ZodObject<typeof keyVaultShape>>, cloud: AzureCloud): KeyVaultConfig {
  return Object.freeze({
    vaultUrl: checkKeyVaultUrl(env.AZURE_KEY_VAULT_URL, { cloud }),
    verifyChallengeResource: env.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE === 'true',
    secretNames: Object.freeze({
      clientId: env.KEY_VAULT_SECRET_CLIENT_ID,
      clientSecret: env.KEY_VAULT_SECRET_CLIENT_SECRET,
      apiKey: env.KEY_VAULT_SECRET_API_KEY,
      integrationReference: env.KEY_VAULT_SECRET_INTEGRATION_REFERENCE,
      authUrl: env.KEY_VAULT_SECRET_AUTH_URL,
      apiBaseUrl: env.KEY_VAULT_SECRET_API_BASE_URL,
    }),
    cacheTtlMs: env.SECRET_CACHE_TTL,
  });
}

export function secretExpiryFrom(env: z.infer<z.ZodObject<typeof secretExpiryShape>>): SecretExpiryConfig {
  return {
    warningDays: env.SECRET_EXPIRY_WARNING_DAYS,
    webhookUrl: env.SECRET_EXPIRY_WEBHOOK_URL,
    schedule: env.SECRET_EXPIRY_SCHEDULE === undefined ? undefined : env.SECRET_EXPIRY_SCHEDULE === 'true',
  };
}

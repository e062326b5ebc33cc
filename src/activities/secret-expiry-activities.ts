import type { SecretClient } from '@azure/keyvault-secrets';
import type { IncodeSecretNames } from '../config/key-vault';
import type { Logger } from '../shared/logger';

/** One Key Vault secret's metadata, as read by the expiry check and the doctor. Never its value. */
export interface SecretStatus {
  /** The IncodeSecretNames field, e.g. `clientSecret`. */
  field: keyof IncodeSecretNames;
  name: string;
  /** `missing`: no such secret; `unreadable`: any other error (`error` says which, without a value). */
  state: 'enabled' | 'disabled' | 'missing' | 'unreadable';
  enabled: boolean;
  /** ISO date, when the secret has an expiry date. */
  expiresOn?: string;
  /** Whole days until expiresOn (negative: expired). */
  daysLeft?: number;
  error?: string;
}

export interface SecretExpiryWarning {
  name: string;
  expiresOn: string;
  daysLeft: number;
}

export interface SecretExpiryResult {
  checkedAt: string;
  warningDays: number;
  secrets: SecretStatus[];
  /** Secrets that expire within warningDays (or have expired). */
  warnings: SecretExpiryWarning[];
  /** Whether the SECRET_EXPIRY_WEBHOOK_URL hook was called (and answered 2xx). */
  notified: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Reads one secret's attributes. Key Vault's "Secrets User" role can read, not list, so this is a GET whose
 * value is dropped at once; a disabled secret answers 403 SecretDisabled.
 */
export async function inspectSecret(
  client: Pick<SecretClient, 'getSecret'>,
  field: keyof IncodeSecretNames,
  name: string,
  now: number = Date.now(),
): Promise<SecretStatus> {
  try {
    const { properties } = await client.getSecret(name);
    const expiresOn = properties.expiresOn;
    return {
      field,
      name,
      state: properties.enabled === false ? 'disabled' : 'enabled',
      enabled: properties.enabled !== false,
      ...(expiresOn ? { expiresOn: expiresOn.toISOString(), daysLeft: Math.floor((expiresOn.getTime() - now) / DAY_MS) } : {}),
    };
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const code = (error as { code?: string }).code;
    const inner = JSON.stringify((error as { details?: unknown }).details ?? '') + String((error as Error).message ?? '');
    if (status === 404) return { field, name, state: 'missing', enabled: false, error: 'does not exist' };
    if (status === 403 && /disabled/i.test(inner)) return { field, name, state: 'disabled', enabled: false, error: 'is disabled' };
    const why =
      status === 403
        ? `access denied (${code ?? 'Forbidden'})`
        : `could not be read (${status ?? (error as Error).name}${code ? ` ${code}` : ''})`;
    return { field, name, state: 'unreadable', enabled: false, error: why };
  }
}

export async function inspectSecrets(
  client: Pick<SecretClient, 'getSecret'>,
  names: IncodeSecretNames,
  now = Date.now(),
): Promise<SecretStatus[]> {
  return Promise.all(
    (Object.entries(names) as Array<[keyof IncodeSecretNames, string]>).map(([field, name]) => inspectSecret(client, field, name, now)),
  );
}

export interface SecretExpiryOptions {
  warningDays: number;
  /** POST {event, warningDays, secrets: [{name, expiresOn, daysLeft}]} here when a secret expires soon. */
  webhookUrl?: string;
  logger?: Logger;
  /** Days left per secret (itdr_secret_expiry_days); `undefined` removes the series (no expiry date). */
  onExpiryDays?: (secret: string, daysLeft: number | undefined) => void;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The `checkSecretExpiry` activity the daily `secretExpiryCheck` workflow runs. */
export function createSecretExpiryActivities(
  client: Pick<SecretClient, 'getSecret'>,
  names: IncodeSecretNames,
  options: SecretExpiryOptions,
) {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  return {
    async checkSecretExpiry(): Promise<SecretExpiryResult> {
      const at = now();
      const secrets = await inspectSecrets(client, names, at);
      const warnings: SecretExpiryWarning[] = [];
      for (const secret of secrets) {
        options.onExpiryDays?.(secret.name, secret.daysLeft);
        if (secret.expiresOn !== undefined && secret.daysLeft !== undefined && secret.daysLeft < options.warningDays) {
          warnings.push({ name: secret.name, expiresOn: secret.expiresOn, daysLeft: secret.daysLeft });
          options.logger?.warn(
            {
              event: 'secret_expiry_warning',
              secret: secret.name,
              expiresOn: secret.expiresOn,
              daysLeft: secret.daysLeft,
              warningDays: options.warningDays,
            },
            secret.daysLeft < 0
              ? `Key Vault secret ${secret.name} has expired`
              : `Key Vault secret ${secret.name} expires in ${secret.daysLeft} days`,
          );
        }
        if (secret.state !== 'enabled') {
          options.logger?.warn(
            { event: 'secret_unavailable', secret: secret.name, state: secret.state, reason: secret.error },
            `Key Vault secret ${secret.name} ${secret.error}`,
          );
        }
      }
      let notified = false;
      if (warnings.length > 0 && options.webhookUrl) {
        try {
          const response = await fetchImpl(options.webhookUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              event: 'secret-expiry-warning',
              warningDays: options.warningDays,
              checkedAt: new Date(at).toISOString(),
              secrets: warnings,
            }),
            signal: AbortSignal.timeout(10_000),
          });
          await response.body?.cancel();
          notified = response.ok;
          if (!response.ok)
            options.logger?.warn(
              { event: 'secret_expiry_hook_failed', status: response.status },
              'secret expiry hook refused the notification',
            );
        } catch (error) {
          options.logger?.warn({ event: 'secret_expiry_hook_failed', reason: (error as Error).message }, 'secret expiry hook unreachable');
        }
      }
      return { checkedAt: new Date(at).toISOString(), warningDays: options.warningDays, secrets, warnings, notified };
    },
  };
}

export type SecretExpiryActivities = ReturnType<typeof createSecretExpiryActivities>;

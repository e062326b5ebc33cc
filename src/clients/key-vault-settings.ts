import type { SecretClient } from '@azure/keyvault-secrets';
import type { IncodeSecretNames } from '../config/key-vault';
import type { IncodeSettings, IncodeSettingsSource } from './incode-client';

export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

/**
 * Incode's six settings from Key Vault, cached in memory for a bounded time (Key Vault allows 4,000 GETs
 * per 10 s per vault; one read per activity would not scale). `refresh()` re-reads at once, for rotations.
 */
export class KeyVaultIncodeSettings implements IncodeSettingsSource {
  private cached?: { settings: IncodeSettings; readAt: number };
  private inflight?: Promise<IncodeSettings>;

  constructor(
    private readonly client: SecretClient,
    private readonly names: IncodeSecretNames,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<IncodeSettings> {
    if (this.cached && this.now() - this.cached.readAt < this.ttlMs) return this.cached.settings;
    return this.load();
  }

  async refresh(): Promise<IncodeSettings> {
    this.cached = undefined;
    return this.load();
  }

  private load(): Promise<IncodeSettings> {
    this.inflight ??= this.readAll().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async readAll(): Promise<IncodeSettings> {
    const entries = await Promise.all(
      (Object.entries(this.names) as Array<[keyof IncodeSettings, string]>).map(
        async ([field, name]) => [field, await this.readSecret(name)] as const,
      ),
    );
    const settings = Object.fromEntries(entries) as unknown as IncodeSettings;
    for (const field of ['authUrl', 'apiBaseUrl'] as const) {
      if (!/^https:\/\//.test(settings[field])) {
        throw new SecretUnavailableError(`Key Vault secret "${this.names[field]}" must be an https:// URL`);
      }
    }
    this.cached = { settings, readAt: this.now() };
    return settings;
  }

  private async readSecret(name: string): Promise<string> {
    try {
      const secret = await this.client.getSecret(name);
      if (!secret.value) throw new SecretUnavailableError(`Key Vault secret "${name}" is empty`);
      return secret.value.trim();
    } catch (error) {
      if (error instanceof SecretUnavailableError) throw error;
      const status = (error as { statusCode?: number }).statusCode;
      const code = (error as { code?: string }).code;
      const why =
        status === 404
          ? 'does not exist'
          : status === 403
            ? `is not readable (${code ?? 'Forbidden'}: disabled, or the identity lacks the Key Vault Secrets User role)`
            : `could not be read (${status ?? (error as Error).name}${code ? ` ${code}` : ''})`;
      throw new SecretUnavailableError(`Key Vault secret "${name}" ${why}`);
    }
  }
}

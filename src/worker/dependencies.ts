import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import { createActivities, type VerificationActivities } from '../activities';
import { IncodeClient } from '../clients/incode-client';
import { KeyVaultIncodeSettings } from '../clients/key-vault-settings';
import { SentinelClient } from '../clients/sentinel-client';
import type { AzureConfig, KeyVaultConfig } from '../config/config';

/**
 * Wires the real clients behind the activities: Key Vault for Incode's settings, Incode, Sentinel.
 * Tests call this with the simulator's URLs, so they exercise exactly what production runs.
 */
export function createWorkerActivities(options: {
  credential: TokenCredential;
  azure: AzureConfig;
  keyVault: KeyVaultConfig;
  incodeHttpTimeoutMs: number;
}): VerificationActivities {
  const secrets = new SecretClient(options.keyVault.vaultUrl, options.credential, {
    disableChallengeResourceVerification: !options.keyVault.verifyChallengeResource,
  });
  const settings = new KeyVaultIncodeSettings(secrets, options.keyVault.secretNames, options.keyVault.cacheTtlMs);
  return createActivities({
    incode: new IncodeClient(settings, { timeoutMs: options.incodeHttpTimeoutMs }),
    sentinel: new SentinelClient(options.credential, options.azure),
  });
}

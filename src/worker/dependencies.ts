import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import { createActivities, type VerificationActivities } from '../activities';
import { activityCancellationSignal } from '../activities/cancellation';
import {
  createSecretExpiryActivities,
  type SecretExpiryActivities,
  type SecretExpiryOptions,
} from '../activities/secret-expiry-activities';
import { IncodeClient } from '../clients/incode-client';
import { KeyVaultIncodeSettings } from '../clients/key-vault-settings';
import { GraphClient } from '../clients/graph-client';
import { SentinelClient } from '../clients/sentinel-client';
import type { AzureConfig } from '../config/azure';
import type { KeyVaultConfig } from '../config/key-vault';
import type { TiSyncConfig } from '../config/ti-sync';
import { createTiSyncActivities, missingTiSync, type TiSyncActivities, type TiSyncActivityOptions } from '../activities/ti-sync-activities';
import { DefenderIndicatorsClient } from '../clients/defender-indicators-client';
import { ThreatIntelClient } from '../clients/threat-intel-client';
import { TiCallTally, type TiCallObserver } from '../clients/ti-call-counter';
import { apiErrorPolicy, type ApiErrorObserver } from '../observability/api-errors';
import type { ConfirmationLinks } from '../confirmation/confirmation-link';

/**
 * Wires the real clients behind the activities: Key Vault for Incode's settings, Incode, Sentinel.
 * Tests call this with the simulator's URLs, so they exercise exactly what production runs.
 */
export function createWorkerActivities(options: {
  credential: TokenCredential;
  azure: AzureConfig;
  keyVault: KeyVaultConfig;
  incodeHttpTimeoutMs: number;
  /** Failed calls to Key Vault, Incode, Sentinel and Graph, for `itdr_api_errors_total`. */
  onApiError?: ApiErrorObserver;
  /** Signs the confirmation page's links in e-mails (CONFIRMATION_PAGE_URL); absent: such e-mails fail, named. */
  confirmationLinks?: ConfirmationLinks;
  /** The `checkSecretExpiry` activity's settings (SECRET_EXPIRY_*). */
  secretExpiry: SecretExpiryOptions;
  /** TI_SYNC_*: the threat-intelligence sync's endpoints; its activities fail clearly when absent. */
  tiSync?: { config: TiSyncConfig; onCall?: TiCallObserver } & TiSyncActivityOptions;
}): VerificationActivities & SecretExpiryActivities & TiSyncActivities {
  const { onApiError } = options;
  const secrets = new SecretClient(options.keyVault.vaultUrl, options.credential, {
    disableChallengeResourceVerification: !options.keyVault.verifyChallengeResource,
    ...(onApiError ? { additionalPolicies: [apiErrorPolicy('keyvault', onApiError)] } : {}),
  });
  const settings = new KeyVaultIncodeSettings(secrets, options.keyVault.secretNames, options.keyVault.cacheTtlMs);
  const activities = createActivities({
    incode: new IncodeClient(settings, { timeoutMs: options.incodeHttpTimeoutMs, onApiError, cancellation: activityCancellationSignal }),
    sentinel: new SentinelClient(options.credential, options.azure, { onApiError, cancellation: activityCancellationSignal }),
    graph: options.azure.graphEndpoint
      ? new GraphClient(options.credential, {
          graphEndpoint: options.azure.graphEndpoint,
          timeoutMs: options.azure.httpTimeoutMs,
          onApiError: onApiError && ((code) => onApiError('graph', code)),
          cancellation: activityCancellationSignal,
        })
      : undefined,
    confirmationLinks: options.confirmationLinks,
  });
  const expiry = createSecretExpiryActivities(secrets, options.keyVault.secretNames, options.secretExpiry);
  return { ...activities, ...expiry, ...tiSyncActivities(options.credential, options.tiSync) };
}

function tiSyncActivities(credential: TokenCredential, tiSync: Parameters<typeof createWorkerActivities>[0]['tiSync']): TiSyncActivities {
  if (!tiSync) return missingTiSync();
  const { config, onCall, ...activityOptions } = tiSync;
  const calls = new TiCallTally(onCall);
  return createTiSyncActivities(
    {
      threatIntel: new ThreatIntelClient(credential, { endpoint: config.logAnalyticsEndpoint, onCall: calls.observe }),
      defender: new DefenderIndicatorsClient(credential, {
        endpoint: config.defenderEndpoint,
        audience: config.defenderAudience,
        onCall: calls.observe,
      }),
      calls,
    },
    activityOptions,
  );
}

import { proxyActivities } from '@temporalio/workflow';
import type { SecretExpiryActivities, SecretExpiryResult } from '../activities/secret-expiry-activities';

const { checkSecretExpiry } = proxyActivities<SecretExpiryActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5 },
});

/**
 * Daily (Temporal Schedule `itdr-verify-secret-expiry`): reads the expiry dates of Incode's Key Vault secrets;
 * the activity logs, sets `itdr_secret_expiry_days` and calls SECRET_EXPIRY_WEBHOOK_URL for those expiring soon.
 */
export async function secretExpiryCheck(): Promise<SecretExpiryResult> {
  return checkSecretExpiry();
}

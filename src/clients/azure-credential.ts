import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { AzureConfig } from '../config/config';

/**
 * Managed identity by default: system-assigned, or user-assigned when AZURE_CLIENT_ID names one.
 * No secret is ever configured for Azure in this mode.
 */
export function createAzureCredential(config: AzureConfig): TokenCredential {
  return config.managedIdentityClientId
    ? new ManagedIdentityCredential({ clientId: config.managedIdentityClientId })
    : new ManagedIdentityCredential();
}

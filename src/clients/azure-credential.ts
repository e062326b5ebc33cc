import {
  AzureCliCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { AzureConfig } from '../config/azure';

/**
 * The one place a credential for Azure (Key Vault, Sentinel) is made, from AZURE_AUTH_MODE:
 *
 * - `managed-identity` (default): system-assigned, or user-assigned when AZURE_CLIENT_ID names one. No secret.
 * - `workload-identity`: the federated token file AKS projects (AZURE_FEDERATED_TOKEN_FILE), re-read as it rotates.
 * - `client-secret`, `client-certificate`: an app registration (service principal).
 * - `azure-cli`: the developer's `az login`, for local runs only. It ignores AZURE_CLOUD: select the cloud
 *   with `az cloud set` and sign in to the right tenant (AZURE_TENANT_ID, when set, is asked for).
 *
 * Entra credentials use the cloud's authority host; `disableInstanceDiscovery` is for private clouds and the
 * simulator (the discovery call goes to the public cloud). Variables were validated when the configuration was
 * loaded; nothing here logs or throws a secret.
 */
export function createAzureCredential(config: AzureConfig): TokenCredential {
  const { auth } = config;
  const entra = { authorityHost: config.authorityHost, disableInstanceDiscovery: config.disableInstanceDiscovery };
  switch (auth.mode) {
    case 'managed-identity':
      return auth.clientId ? new ManagedIdentityCredential({ clientId: auth.clientId }) : new ManagedIdentityCredential();
    case 'workload-identity':
      return new WorkloadIdentityCredential({
        ...entra,
        tenantId: auth.tenantId,
        clientId: auth.clientId,
        tokenFilePath: auth.federatedTokenFile,
      });
    case 'client-secret':
      return new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret.reveal(), entra);
    case 'client-certificate':
      return new ClientCertificateCredential(
        auth.tenantId,
        auth.clientId,
        { certificatePath: auth.certificatePath, certificatePassword: auth.certificatePassword?.reveal() },
        entra,
      );
    case 'azure-cli':
      return new AzureCliCredential(auth.tenantId ? { tenantId: auth.tenantId } : {});
  }
}

/** What to log about the credential at start-up: mode, cloud, tenant and client ids, never a secret. */
export function describeAzureCredential(config: AzureConfig): Record<string, string | undefined> {
  const { auth } = config;
  return {
    mode: auth.mode,
    cloud: config.cloud.name,
    authorityHost: auth.mode === 'managed-identity' || auth.mode === 'azure-cli' ? undefined : config.authorityHost,
    tenantId: 'tenantId' in auth ? auth.tenantId : undefined,
    clientId: 'clientId' in auth ? auth.clientId : undefined,
  };
}

import { SecurityInsights } from '@azure/arm-securityinsight';
import type { TokenCredential } from '@azure/identity';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Connection } from '@temporalio/client';
import { inspectSecrets } from '../activities/secret-expiry-activities';
import type { IncodeClient } from '../clients/incode-client';
import { GraphClient } from '../clients/graph-client';
import { GraphApiError } from '../clients/graph-errors';
import { IncodeApiError } from '../clients/incode-errors';
import { SecretUnavailableError } from '../clients/key-vault-settings';
import type { AzureConfig } from '../config/azure';
import type { IncodeSecretNames } from '../config/key-vault';
import { ALL_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import type { WorkspaceRef } from '../shared/types';

/**
 * The doctor's checks: each tries one dependency with the worker's own configuration and clients and says, in
 * one row, whether it works and what to fix. Rows carry names, ids, hosts and dates only: never a secret's value,
 * a token or a URL read from Key Vault.
 */
export type DoctorStatus = 'OK' | 'FAIL' | 'SKIP';

export interface DoctorRow {
  check: string;
  status: DoctorStatus;
  detail: string;
  /** What to do about a FAIL. */
  fix?: string;
}

const ok = (check: string, detail: string): DoctorRow => ({ check, status: 'OK', detail });
const fail = (check: string, detail: string, fix: string): DoctorRow => ({ check, status: 'FAIL', detail, fix });

/** The first line of an error's message, without anything that looks like a bearer token. */
function reason(error: unknown): string {
  const text = String((error as Error)?.message ?? error).split('\n')[0] ?? '';
  return text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[token]').slice(0, 300);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** `clientSecret` → KEY_VAULT_SECRET_CLIENT_SECRET */
export function secretNameVariable(field: keyof IncodeSecretNames): string {
  return `KEY_VAULT_SECRET_${field.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/** Runs `check`, turning a hang into a FAIL after `timeoutMs`. */
export async function withTimeout<T>(what: string, timeoutMs: number, check: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function credentialFix(azure: AzureConfig): string {
  switch (azure.auth?.mode ?? 'managed-identity') {
    case 'managed-identity':
      return (
        'run on a host with a managed identity (App Service, Container Apps, AKS, VM); for a user-assigned one set ' +
        'AZURE_CLIENT_ID to its client id, or choose another AZURE_AUTH_MODE'
      );
    case 'workload-identity':
      return (
        'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE, and the federated credential (issuer, ' +
        'subject) of the app registration'
      );
    case 'client-secret':
      return (
        'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (expired secrets are refused); AZURE_CLOUD / ' +
        "AZURE_AUTHORITY_HOST must be the tenant's cloud"
      );
    case 'client-certificate':
      return (
        'check AZURE_TENANT_ID, AZURE_CLIENT_ID and the certificate at AZURE_CLIENT_CERTIFICATE_PATH (uploaded to the app ' +
        'registration, not expired)'
      );
    case 'azure-cli':
      return 'run `az login` (and `az cloud set` for a sovereign cloud)';
  }
}

/** A token for ARM (`{armEndpoint}/.default`) from the configured credential. */
export async function checkAzureToken(credential: TokenCredential, azure: AzureConfig): Promise<DoctorRow> {
  const check = 'Azure token (ARM)';
  const scope = `${azure.armEndpoint.replace(/\/+$/, '')}/.default`;
  try {
    const token = await credential.getToken(scope, { abortSignal: AbortSignal.timeout(azure.httpTimeoutMs) });
    if (!token?.token) return fail(check, `no token for ${scope}`, credentialFix(azure));
    return ok(
      check,
      `${azure.auth?.mode ?? 'managed-identity'}: token for ${scope}, valid until ${new Date(token.expiresOnTimestamp).toISOString()}`,
    );
  } catch (error) {
    return fail(check, `${azure.auth?.mode ?? 'managed-identity'}: ${reason(error)}`, credentialFix(azure));
  }
}

/** Each of Incode's six secrets: present, enabled, not expired (names and dates only). */
export async function checkKeyVaultSecrets(
  client: Pick<SecretClient, 'getSecret'>,
  names: IncodeSecretNames,
  vaultUrl: string,
  now: number = Date.now(),
): Promise<DoctorRow[]> {
  const vault = new URL(vaultUrl).host;
  const secrets = await inspectSecrets(client, names, now);
  return secrets.map((secret) => {
    const check = `Key Vault secret ${secret.name}`;
    const variable = secretNameVariable(secret.field);
    switch (secret.state) {
      case 'missing':
        return fail(
          check,
          `does not exist in ${vault}`,
          `create the secret "${secret.name}" in the vault (az keyvault secret set --vault-name <vault> --name ${secret.name} ` +
            `--value ...), or set ${variable} to the name it has`,
        );
      case 'disabled':
        return fail(
          check,
          'is disabled',
          `enable its current version (az keyvault secret set-attributes --vault-name <vault> --name ${secret.name} --enabled ` +
            `true) or add a new enabled version`,
        );
      case 'unreadable':
        return fail(
          check,
          `${secret.error} in ${vault}`,
          /denied|403/.test(secret.error ?? '')
            ? 'grant the worker\'s identity the "Key Vault Secrets User" role on the vault (or an access policy with Get on ' +
                "secrets); check the vault's firewall"
            : 'check AZURE_KEY_VAULT_URL and that the vault is reachable from this host',
        );
      case 'enabled':
        if (secret.expiresOn !== undefined && (secret.daysLeft ?? 0) < 0) {
          return fail(
            check,
            `expired on ${secret.expiresOn}`,
            `set a new version of "${secret.name}" with a later expiry date (and rotate the credential at Incode if it changed)`,
          );
        }
        return ok(
          check,
          secret.expiresOn ? `enabled, expires ${secret.expiresOn} (in ${secret.daysLeft} days)` : 'enabled, no expiry date',
        );
    }
  });
}

function sentinelFix(status: number | undefined, workspace: WorkspaceRef): string {
  if (status === 403)
    return (
      `grant the worker's identity "Microsoft Sentinel Responder" on resource group ${workspace.resourceGroup} (subscription ` +
      `${workspace.subscriptionId})`
    );
  if (status === 404)
    return (
      'check SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and SENTINEL_WORKSPACE_NAME (and that Sentinel is enabled on ' +
      'the workspace)'
    );
  if (status === 401)
    return "the token was refused: AZURE_TENANT_ID must be the subscription's tenant, and AZURE_CLOUD / ARM_ENDPOINT its cloud";
  return 'check ARM_ENDPOINT / AZURE_CLOUD and outbound HTTPS to it; retry if ARM was briefly unavailable';
}

/** Reads one incident of the workspace: DOCTOR_INCIDENT_ID, or the first one listed. */
export async function checkSentinel(
  credential: TokenCredential,
  azure: AzureConfig,
  workspace: WorkspaceRef | undefined,
  incidentId?: string,
): Promise<DoctorRow> {
  const check = 'Sentinel workspace';
  if (!workspace) {
    return fail(
      check,
      'no workspace configured',
      'set SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and SENTINEL_WORKSPACE_NAME (as for the gateway) to check it',
    );
  }
  const where = `${workspace.resourceGroup}/${workspace.workspaceName}`;
  const client = new SecurityInsights(credential, workspace.subscriptionId, {
    endpoint: azure.armEndpoint,
    apiVersion: azure.sentinelApiVersion,
  });
  const options = () => ({ abortSignal: AbortSignal.timeout(azure.httpTimeoutMs) });
  try {
    if (incidentId) {
      const incident = await client.incidents.get(workspace.resourceGroup, workspace.workspaceName, incidentId, options());
      return ok(check, `${where}: read incident ${incidentId} (#${incident.incidentNumber ?? '?'}, ${incident.status ?? '?'})`);
    }
    const page = await client.incidents
      .list(workspace.resourceGroup, workspace.workspaceName, { top: 1, ...options() })
      .byPage()
      .next();
    const count = page.done ? 0 : page.value.length;
    return ok(check, `${where}: incidents readable (${count === 0 ? 'none yet' : 'listed 1'})`);
  } catch (error) {
    const status = statusOf(error);
    if (incidentId && status === 404 && /not ?found/i.test(reason(error)) && !/ResourceGroup|Workspace/i.test(reason(error))) {
      return fail(
        check,
        `${where}: incident ${incidentId} not found (HTTP 404)`,
        'DOCTOR_INCIDENT_ID must be an incident id (GUID) of this workspace; unset it to list instead',
      );
    }
    return fail(check, `${where}: ${status ? `HTTP ${status} ` : ''}${reason(error)}`, sentinelFix(status, workspace));
  }
}

/** A fresh Incode token with the client credentials from Key Vault. */
export async function checkIncodeToken(incode: Pick<IncodeClient, 'verifyCredentials'>, names: IncodeSecretNames): Promise<DoctorRow> {
  const check = 'Incode token';
  try {
    const { expiresAt } = await incode.verifyCredentials();
    return ok(check, `client credentials accepted, token valid until ${new Date(expiresAt).toISOString()}`);
  } catch (error) {
    if (error instanceof SecretUnavailableError) {
      return fail(check, `settings not readable from Key Vault: ${reason(error)}`, 'fix the Key Vault secret rows above first');
    }
    if (error instanceof IncodeApiError) {
      const status = error.details.httpStatus === undefined ? '' : ` (HTTP ${error.details.httpStatus})`;
      switch (error.kind) {
        case 'CredentialsRejected':
          return fail(
            check,
            `Incode refused the client credentials${status}`,
            `put the integration's current client id and secret into the Key Vault secrets "${names.clientId}" and ` +
              `"${names.clientSecret}" (a rotation at Incode needs a new version there)`,
          );
        case 'Network':
          return fail(
            check,
            `Incode's token endpoint did not answer${error.message.includes('no answer') ? ' in time' : ''}`,
            `check the URL in the Key Vault secret "${names.authUrl}" and outbound HTTPS from this host`,
          );
        case 'ApiVersionRejected':
        case 'BadRequest':
        case 'NotFound':
        case 'RateLimited':
        case 'ServerError':
        case 'UnexpectedResponse':
        case 'UserNotFound':
          return fail(
            check,
            `${error.kind}${status}`,
            `check the URL in the Key Vault secret "${names.authUrl}"; retry if Incode was briefly unavailable`,
          );
      }
    }
    return fail(check, reason(error), `check the Key Vault secrets "${names.authUrl}", "${names.clientId}" and "${names.clientSecret}"`);
  }
}

const SEARCH_ATTRIBUTE_TYPES: Record<string, { code: number; cli: string }> = {
  TEXT: { code: 1, cli: 'Text' },
  KEYWORD: { code: 2, cli: 'Keyword' },
  INT: { code: 3, cli: 'Int' },
  DOUBLE: { code: 4, cli: 'Double' },
  BOOL: { code: 5, cli: 'Bool' },
  DATETIME: { code: 6, cli: 'Datetime' },
  KEYWORD_LIST: { code: 7, cli: 'KeywordList' },
};

/** The frontend answers, the namespace exists, and the project's search attributes are registered with their types. */
export async function checkTemporal(
  connection: Pick<Connection, 'workflowService' | 'operatorService'>,
  address: string,
  namespace: string,
): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  try {
    await connection.workflowService.describeNamespace({ namespace });
    rows.push(ok('Temporal namespace', `${address}: namespace ${namespace} found`));
  } catch (error) {
    const notFound = /not ?found/i.test(reason(error));
    rows.push(
      fail(
        'Temporal namespace',
        `${address}: ${reason(error)}`,
        notFound
          ? `create namespace ${namespace} (temporal operator namespace create --namespace ${namespace}) or fix TEMPORAL_NAMESPACE`
          : 'check TEMPORAL_ADDRESS, TLS (TEMPORAL_TLS_CERT_PATH/KEY_PATH) or TEMPORAL_API_KEY, and that the frontend is reachable',
      ),
    );
    return [...rows, { check: 'Temporal search attributes', status: 'SKIP', detail: 'namespace not reachable' }];
  }
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const wrong = ALL_SEARCH_ATTRIBUTES.filter((key) => Number(customAttributes?.[key.name]) !== SEARCH_ATTRIBUTE_TYPES[key.type]?.code);
    if (wrong.length === 0) {
      rows.push(ok('Temporal search attributes', `all ${ALL_SEARCH_ATTRIBUTES.length} registered`));
    } else {
      rows.push(
        fail(
          'Temporal search attributes',
          `missing or of another type: ${wrong.map((key) => `${key.name} (${SEARCH_ATTRIBUTE_TYPES[key.type]?.cli})`).join(', ')}`,
          wrong
            .map(
              (key) =>
                `temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ` +
                `${SEARCH_ATTRIBUTE_TYPES[key.type]?.cli}`,
            )
            .join('; '),
        ),
      );
    }
  } catch (error) {
    rows.push(
      fail(
        'Temporal search attributes',
        reason(error),
        'list them with `temporal operator search-attribute list`; on Temporal Cloud check them in the namespace settings',
      ),
    );
  }
  return rows;
}

/** One read through the product's Graph client (an unknown user's 404 counts as reachable). SKIP when Graph is not configured. */
export async function checkGraph(
  credential: TokenCredential,
  graphEndpoint: string | undefined,
  options: { timeoutMs: number },
): Promise<DoctorRow> {
  const check = 'Microsoft Graph';
  if (!graphEndpoint) return { check, status: 'SKIP', detail: 'not configured (GRAPH_ENDPOINT / AZURE_CLOUD=custom)' };
  const host = new URL(graphEndpoint).host;
  const graph = new GraphClient(credential, { graphEndpoint, timeoutMs: options.timeoutMs, maxRetries: 0 });
  try {
    await graph.mailOf('00000000-0000-0000-0000-000000000000');
    return ok(check, `${host}: reachable, users readable`);
  } catch (error) {
    const status = error instanceof GraphApiError ? error.details.httpStatus : undefined;
    if (error instanceof GraphApiError && error.kind === 'UserNotFound') return ok(check, `${host}: reachable, users readable`);
    if (status === 401 || status === 403) {
      return fail(
        check,
        `${host}: HTTP ${status} reading users`,
        'grant the app the Microsoft Graph application permission User.Read.All (admin consent); see README "Entra profile matching"',
      );
    }
    if (status !== undefined)
      return fail(check, `${host}: HTTP ${status}`, 'check GRAPH_ENDPOINT and outbound HTTPS; retry if Graph was briefly unavailable');
    return fail(
      check,
      `${host}: ${reason(error)}`,
      'check GRAPH_ENDPOINT and outbound HTTPS to it; for a missing token see the Azure token row (the same credential)',
    );
  }
}

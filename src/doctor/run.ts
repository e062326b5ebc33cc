import type { TokenCredential } from '@azure/identity';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Connection } from '@temporalio/client';
import type { IncodeClient } from '../clients/incode-client';
import type { AzureConfig } from '../config/azure';
import type { KeyVaultConfig } from '../config/key-vault';
import type { TemporalConfig } from '../config/temporal';
import type { WorkspaceRef } from '../shared/types';
import {
  checkAzureToken,
  checkGraph,
  checkIncodeToken,
  checkKeyVaultSecrets,
  checkSentinel,
  checkTemporal,
  withTimeout,
  type DoctorRow,
} from './checks';

export interface DoctorDependencies {
  credential: TokenCredential;
  azure: AzureConfig;
  keyVault: KeyVaultConfig;
  secrets: Pick<SecretClient, 'getSecret'>;
  incode: Pick<IncodeClient, 'verifyCredentials'>;
  temporal: { connection: Pick<Connection, 'workflowService' | 'operatorService'>; config: Pick<TemporalConfig, 'address' | 'namespace'> };
  workspace?: WorkspaceRef;
  /** DOCTOR_INCIDENT_ID: read this incident rather than listing one. */
  incidentId?: string;
  /** Upper bound of each check (default 30 s). */
  timeoutMs?: number;
  now?: number;
}

/** Every check, in order; a check that throws or hangs becomes a FAIL row, so the table is always complete. */
export async function runDoctor(deps: DoctorDependencies): Promise<DoctorRow[]> {
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const guard = async (check: string, fix: string, run: () => Promise<DoctorRow | DoctorRow[]>): Promise<DoctorRow[]> => {
    try {
      const rows = await withTimeout(check, timeoutMs, run);
      return Array.isArray(rows) ? rows : [rows];
    } catch (error) {
      return [{ check, status: 'FAIL', detail: String((error as Error)?.message ?? error).split('\n')[0] ?? '', fix }];
    }
  };
  const [azure, keyVault, sentinel, incode, temporal, graph] = await Promise.all([
    guard('Azure token (ARM)', 'see the credential settings (AZURE_AUTH_MODE)', () => checkAzureToken(deps.credential, deps.azure)),
    guard('Key Vault secrets', "check AZURE_KEY_VAULT_URL and the vault's network access", () =>
      checkKeyVaultSecrets(deps.secrets, deps.keyVault.secretNames, deps.keyVault.vaultUrl, deps.now),
    ),
    guard('Sentinel workspace', 'check ARM_ENDPOINT and network access to ARM', () =>
      checkSentinel(deps.credential, deps.azure, deps.workspace, deps.incidentId),
    ),
    guard('Incode token', 'check the Key Vault secret of the Incode auth URL and outbound HTTPS', () =>
      checkIncodeToken(deps.incode, deps.keyVault.secretNames),
    ),
    guard('Temporal namespace', 'check TEMPORAL_ADDRESS and that the frontend is reachable', () =>
      checkTemporal(deps.temporal.connection, deps.temporal.config.address, deps.temporal.config.namespace),
    ),
    guard('Microsoft Graph', 'check GRAPH_ENDPOINT and outbound HTTPS', () =>
      checkGraph(deps.credential, deps.azure.graphEndpoint, { timeoutMs: deps.azure.httpTimeoutMs }),
    ),
  ]);
  return [...azure, ...keyVault, ...sentinel, ...incode, ...temporal, ...graph];
}

export function doctorPassed(rows: readonly DoctorRow[]): boolean {
  return rows.every((row) => row.status !== 'FAIL');
}

/** A plain-text table: check, status, detail, fix (the fix only on FAIL rows). */
export function formatDoctorTable(rows: readonly DoctorRow[]): string {
  const header = { check: 'CHECK', status: 'STATUS', detail: 'DETAIL', fix: 'FIX' };
  const all = [header, ...rows.map((row) => ({ check: row.check, status: row.status, detail: row.detail, fix: row.fix ?? '' }))];
  const width = (key: 'check' | 'status' | 'detail') => Math.max(...all.map((row) => row[key].length));
  const [checkWidth, statusWidth, detailWidth] = [width('check'), width('status'), width('detail')];
  const lines = all.map((row) =>
    [row.check.padEnd(checkWidth), row.status.padEnd(statusWidth), row.fix ? row.detail.padEnd(detailWidth) : row.detail, row.fix]
      .filter(Boolean)
      .join('  ')
      .trimEnd(),
  );
  const failed = rows.filter((row) => row.status === 'FAIL').length;
  lines.push('', failed === 0 ? `All ${rows.length} checks passed.` : `${failed} of ${rows.length} checks failed.`);
  return lines.join('\n');
}

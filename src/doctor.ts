import { SecretClient } from '@azure/keyvault-secrets';
import { createAzureCredential } from './clients/azure-credential';
import { IncodeClient } from './clients/incode-client';
import { KeyVaultIncodeSettings } from './clients/key-vault-settings';
import { loadWorkerConfig, loadWorkspaceRef } from './config/config';
import { ConfigError } from './config/parse';
import { doctorPassed, formatDoctorTable, runDoctor } from './doctor/run';
import { createTemporalClient } from './temporal/connection';

/**
 * `npm run doctor`: with the worker's configuration, tries every dependency (Azure token, the Key Vault secrets,
 * Sentinel, Incode, Temporal, Graph) and prints one row each with what to fix. Exit code 0 when all pass, 1 when
 * one fails, 2 for a configuration error. Prints names, ids, hosts and dates, never a secret's value or a token.
 */
async function main(): Promise<number> {
  const config = loadWorkerConfig();
  const workspace = loadWorkspaceRef();
  const credential = createAzureCredential(config.azure);
  const secrets = new SecretClient(config.keyVault.vaultUrl, credential, {
    disableChallengeResourceVerification: !config.keyVault.verifyChallengeResource,
  });
  const incode = new IncodeClient(new KeyVaultIncodeSettings(secrets, config.keyVault.secretNames, 0), { timeoutMs: config.incodeHttpTimeoutMs });
  const temporal = await createTemporalClient(config.temporal).catch((error: unknown) => error as Error);
  try {
    const rows = await runDoctor({
      credential,
      azure: config.azure,
      keyVault: config.keyVault,
      secrets,
      incode,
      temporal: {
        connection:
          temporal instanceof Error
            ? {
                workflowService: { describeNamespace: () => Promise.reject(temporal) },
                operatorService: { listSearchAttributes: () => Promise.reject(temporal) },
              } as never
            : temporal.connection,
        config: config.temporal,
      },
      workspace,
      incidentId: process.env.DOCTOR_INCIDENT_ID?.trim() || undefined,
    });
    console.log(formatDoctorTable(rows));
    return doctorPassed(rows) ? 0 : 1;
  } finally {
    if (!(temporal instanceof Error)) await temporal.connection.close().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(`doctor failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);

import { spawnSync } from 'node:child_process';
import { SecretClient } from '@azure/keyvault-secrets';
import { createAzureCredential } from './clients/azure-credential';
import { IncodeClient } from './clients/incode-client';
import { KeyVaultIncodeSettings } from './clients/key-vault-settings';
import { loadWorkerConfig } from './config/worker';
import { loadWorkspaceRef } from './config/workspaces';
import { ConfigError } from './config/parse';
import { devStateDir, readRunningStack } from './doctor/dev-stack-record';
import { doctorPassed, formatDoctorTable, runDoctor } from './doctor/run';
import { createTemporalClient } from './temporal/connection';

/**
 * `npm run doctor`: with the worker's configuration, tries every dependency (Azure token, the Key Vault secrets,
 * Sentinel, Incode, Temporal, Graph) and prints one row each with what to fix. Exit code 0 when all pass, 1 when
 * one fails, 2 for a configuration error. Prints names, ids, hosts and dates, never a secret's value or a token.
 * Without a deployment's settings (no AZURE_KEY_VAULT_URL, ARM_ENDPOINT or SENTINEL_SUBSCRIPTION_ID) and beside a
 * running `npm run dev`, it checks the dev stack with the environment that stack's worker runs with.
 */
const DEPLOYMENT_VARIABLES = ['AZURE_KEY_VAULT_URL', 'ARM_ENDPOINT', 'SENTINEL_SUBSCRIPTION_ID'];
const DEV_STACK_MARKER = 'ITDR_DOCTOR_DEV_STACK';

/** Beside `npm run dev`: runs this doctor again with the dev stack's environment; its exit code, or undefined. */
function checkDevStackInstead(): number | undefined {
  if (process.env[DEV_STACK_MARKER] || DEPLOYMENT_VARIABLES.some((name) => process.env[name]?.trim())) return undefined;
  const stateDir = devStateDir();
  const running = readRunningStack(stateDir);
  if (!running) return undefined;
  console.log(`Checking the local dev stack (npm run dev, pid ${running.pid}; settings from ${stateDir}/stack.json).`);
  console.log(`Set ${DEPLOYMENT_VARIABLES.join(', ')} (the worker's environment) to check a deployment instead.\n`);
  // NODE_EXTRA_CA_CERTS is read at start-up only: the simulator's CA needs a new process.
  const child = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, ...running.env, NODE_EXTRA_CA_CERTS: running.caCertPath, [DEV_STACK_MARKER]: '1' },
  });
  return child.status ?? 1;
}

async function main(): Promise<number> {
  const devStack = checkDevStackInstead();
  if (devStack !== undefined) return devStack;
  const config = loadWorkerConfig();
  const workspace = loadWorkspaceRef();
  const credential = createAzureCredential(config.azure);
  const secrets = new SecretClient(config.keyVault.vaultUrl, credential, {
    disableChallengeResourceVerification: !config.keyVault.verifyChallengeResource,
  });
  const incode = new IncodeClient(new KeyVaultIncodeSettings(secrets, config.keyVault.secretNames, 0), {
    timeoutMs: config.incodeHttpTimeoutMs,
  });
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
            ? ({
                workflowService: { describeNamespace: () => Promise.reject(temporal) },
                operatorService: { listSearchAttributes: () => Promise.reject(temporal) },
              } as never)
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
      if (!process.env[DEV_STACK_MARKER])
        console.error('(To check the local dev stack instead, run the doctor beside `npm run dev`, without these variables.)');
      process.exit(2);
    }
    console.error(`doctor failed: ${error instanceof Error && error.stack ? error.stack : String(error)}`);
    process.exit(1);
  },
);

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecretClient } from '@azure/keyvault-secrets';
import { createAzureCredential } from '../../src/clients/azure-credential';
import { IncodeClient } from '../../src/clients/incode-client';
import { KeyVaultIncodeSettings } from '../../src/clients/key-vault-settings';
import { DEFAULT_SECRET_NAMES } from '../../src/config/key-vault';
import { loadWorkerConfig } from '../../src/config/worker';
import { loadWorkspaceRef } from '../../src/config/workspaces';
import type { DoctorRow } from '../../src/doctor/checks';
import { doctorPassed, formatDoctorTable, runDoctor } from '../../src/doctor/run';
import { startTestStack, type TestStack } from '../helpers/stack';

const root = path.join(__dirname, '..', '..', '..');
const doctorPath = path.join(root, 'dist', 'src', 'doctor.js');

/** `npm run doctor`: every dependency checked with the worker's configuration, against the simulator. */
describe('doctor', () => {
  let stack: TestStack;
  let doctor: (incidentId?: string) => Promise<DoctorRow[]>;
  /** Every value the vault holds, and the generated secrets of the environment: none may be printed. */
  let secretValues: string[];

  before(async () => {
    stack = await startTestStack();
    const config = loadWorkerConfig(stack.env);
    const credential = createAzureCredential(config.azure);
    const secrets = new SecretClient(config.keyVault.vaultUrl, credential, { disableChallengeResourceVerification: true });
    const incode = new IncodeClient(new KeyVaultIncodeSettings(secrets, config.keyVault.secretNames, 0), { timeoutMs: 5_000 });
    doctor = (incidentId) =>
      runDoctor({
        credential,
        azure: config.azure,
        keyVault: config.keyVault,
        secrets,
        incode,
        temporal: { connection: stack.client.connection, config: config.temporal },
        workspace: loadWorkspaceRef(stack.env),
        incidentId,
        timeoutMs: 20_000,
      });
    secretValues = [
      ...Object.values(DEFAULT_SECRET_NAMES).map((name) => stack.simulator.keyVault.getSecret(name)!.value),
      stack.env.PAYLOAD_ENCRYPTION_KEY,
      stack.apiKey,
      stack.webhookSecret,
    ];
  });
  after(async () => {
    await stack?.stop();
  });

  const row = (rows: DoctorRow[], check: string) => {
    const found = rows.find((candidate) => candidate.check === check);
    assert.ok(found, `no row "${check}" in\n${formatDoctorTable(rows)}`);
    return found;
  };
  const assertNoSecrets = (text: string) => {
    for (const value of secretValues) assert.ok(!text.includes(value), `a secret value was printed:\n${text}`);
  };
  const failed = (rows: DoctorRow[]) => rows.filter((candidate) => candidate.status === 'FAIL').map((candidate) => candidate.check);

  it('passes every check against a healthy stack', async () => {
    const rows = await doctor();
    const table = formatDoctorTable(rows);
    assert.ok(doctorPassed(rows), table);
    assert.deepEqual(
      rows.map((candidate) => candidate.check),
      [
        'Azure token (ARM)',
        ...Object.values(DEFAULT_SECRET_NAMES).map((name) => `Key Vault secret ${name}`),
        'Sentinel workspace',
        'Incode token',
        'Temporal namespace',
        'Temporal search attributes',
        'Microsoft Graph',
      ],
    );
    assert.ok(
      rows.every((candidate) => candidate.status === 'OK'),
      table,
    );
    assert.match(table, /All 12 checks passed/);
    assertNoSecrets(table);
  });

  it('reads a given incident with DOCTOR_INCIDENT_ID, and says when it is not there', async () => {
    const incident = stack.simulator.sentinel.seedIncident({ title: 'doctor', severity: 'Low', accounts: [] });
    assert.equal(row(await doctor(incident.name), 'Sentinel workspace').status, 'OK');
    const missing = row(await doctor('00000000-0000-0000-0000-00000000beef'), 'Sentinel workspace');
    assert.equal(missing.status, 'FAIL');
    assert.match(missing.fix ?? '', /DOCTOR_INCIDENT_ID/);
  });

  it('names a deleted secret and how to create it, and the Incode check fails with it', async () => {
    const name = DEFAULT_SECRET_NAMES.apiKey;
    const saved = stack.simulator.keyVault.getSecret(name)!;
    stack.simulator.keyVault.deleteSecret(name);
    try {
      const rows = await doctor();
      assert.deepEqual(failed(rows), [`Key Vault secret ${name}`, 'Incode token'], formatDoctorTable(rows));
      const secret = row(rows, `Key Vault secret ${name}`);
      assert.match(secret.detail, /does not exist/);
      assert.match(secret.fix ?? '', /create the secret "incode-api-key"/);
      assert.match(secret.fix ?? '', /KEY_VAULT_SECRET_API_KEY/);
      assertNoSecrets(formatDoctorTable(rows));
    } finally {
      stack.simulator.keyVault.setSecret(name, saved.value);
    }
  });

  it('says a secret is disabled and how to enable it', async () => {
    const name = DEFAULT_SECRET_NAMES.clientId;
    stack.simulator.keyVault.setEnabled(name, false);
    try {
      const rows = await doctor();
      assert.deepEqual(failed(rows), [`Key Vault secret ${name}`, 'Incode token'], formatDoctorTable(rows));
      const secret = row(rows, `Key Vault secret ${name}`);
      assert.equal(secret.detail, 'is disabled');
      assert.match(secret.fix ?? '', /--enabled true/);
      assertNoSecrets(formatDoctorTable(rows));
    } finally {
      stack.simulator.keyVault.setEnabled(name, true);
    }
  });

  it('shows an expiry date, and fails an expired secret', async () => {
    const name = DEFAULT_SECRET_NAMES.integrationReference;
    const value = stack.simulator.keyVault.getSecret(name)!.value;
    stack.simulator.keyVault.setSecret(name, value, { expiresOn: new Date(Date.now() + 45 * 86_400_000) });
    const soon = row(await doctor(), `Key Vault secret ${name}`);
    assert.equal(soon.status, 'OK');
    assert.match(soon.detail, /^enabled, expires \d{4}-\d\d-\d\dT.* \(in 4[45] days\)$/);
    stack.simulator.keyVault.setSecret(name, value, { expiresOn: new Date(Date.now() - 86_400_000) });
    try {
      const expired = row(await doctor(), `Key Vault secret ${name}`);
      assert.equal(expired.status, 'FAIL');
      assert.match(expired.detail, /^expired on /);
      assert.match(expired.fix ?? '', /new version/);
    } finally {
      stack.simulator.keyVault.setSecret(name, value);
    }
  });

  it('fails the Sentinel check on a 403 from ARM, naming the role to grant', async () => {
    stack.simulator.faults.add({ service: 'arm', status: 403, times: 5 });
    try {
      const rows = await doctor();
      assert.deepEqual(failed(rows), ['Sentinel workspace'], formatDoctorTable(rows));
      const sentinel = row(rows, 'Sentinel workspace');
      assert.match(sentinel.detail, /HTTP 403/);
      assert.match(sentinel.fix ?? '', /Microsoft Sentinel Responder/);
    } finally {
      stack.simulator.faults.clear('arm');
    }
  });

  it('fails the Incode check when Incode rotated its credentials and the vault still holds the old ones', async () => {
    const original = stack.simulator.incode.config.clientSecret;
    stack.simulator.incode.rotateCredentials({ clientSecret: 'rotated-at-incode-0123456789abcdef' });
    try {
      const rows = await doctor();
      assert.deepEqual(failed(rows), ['Incode token'], formatDoctorTable(rows));
      const incode = row(rows, 'Incode token');
      assert.match(incode.detail, /refused the client credentials/);
      assert.match(incode.fix ?? '', /"incode-client-id" and "incode-client-secret"/);
      const table = formatDoctorTable(rows);
      assertNoSecrets(table);
      assert.ok(!table.includes('rotated-at-incode'), table);
    } finally {
      stack.simulator.incode.rotateCredentials({ clientSecret: original });
    }
  });

  describe('the compiled doctor (npm run doctor)', () => {
    const run = (env: Record<string, string | undefined>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const full: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
          ...env,
        };
        for (const [key, value] of Object.entries(full)) if (value === undefined) delete full[key];
        execFile(process.execPath, [doctorPath], { cwd: root, env: full, timeout: 90_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        });
      });
    const stackEnv = () => ({ ...stack.env, ...stack.simulator.identityEnv });

    it('exits 0 with a table when everything works', async () => {
      const result = await run(stackEnv());
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /^CHECK\s+STATUS\s+DETAIL/);
      assert.match(result.stdout, /All 12 checks passed/);
      assertNoSecrets(result.stdout + result.stderr);
    });

    it('exits 1 when a check fails, and 2 for a configuration error', async () => {
      const name = DEFAULT_SECRET_NAMES.clientSecret;
      const saved = stack.simulator.keyVault.getSecret(name)!;
      stack.simulator.keyVault.deleteSecret(name);
      try {
        const result = await run(stackEnv());
        assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
        assert.match(result.stdout, /Key Vault secret incode-client-secret\s+FAIL\s+does not exist/);
        assert.match(result.stdout, /2 of 12 checks failed/);
        assertNoSecrets(result.stdout + result.stderr);
      } finally {
        stack.simulator.keyVault.setSecret(name, saved.value);
      }
      const renamed = await run({ ...stackEnv(), KEY_VAULT_SECRET_API_KEY: 'not_a_valid_name' });
      assert.equal(renamed.code, 2, `${renamed.stdout}\n${renamed.stderr}`);
      assert.match(renamed.stderr, /KEY_VAULT_SECRET_API_KEY: must be a Key Vault secret name/);
    });
  });
});

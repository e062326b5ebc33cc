import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { packageRoot, temporalCliPath } from '../../tools/dev/temporal-server';
import { simulatedServicesEnv } from '../../tools/dev/local-stack';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { startSimulator, type RunningSimulator } from '../../tools/simulator';
import { ensureDevCertificates } from '../../tools/simulator/tls';
import { dataConverterFor } from '../../src/temporal/connection';
import { createLogger } from '../../src/shared/logger';
import { playbookRequest, renderPlaybook } from '../deploy/playbook-request';
import { createClusterCertificates, type ClusterCertificates } from './certificates';
import { startPostgreSql, type PostgreSql } from './postgresql';
import { freePorts, run, startProcess, tail, waitFor, type RunningProcess } from './processes';
import { setUpSchemas, startTemporalCluster, type TemporalCluster, type TemporalTools } from './temporal-cluster';
import { confirmActivity, failIdentityCheck, ignoreVerification, passIdentityCheck } from './user-actions';

/**
 * The product against the Temporal server it meets in production: PostgreSQL (Debian's package) for history
 * and SQL visibility, schemas set up by the server's own SQL tool, the frontend on TLS with client
 * certificates required, the search attributes registered by deploy/azure/post-deploy.sh. The built worker
 * and gateway run as the image runs them (node dist/src/..., NODE_ENV=production, configured by their
 * environment only) against the simulated Azure and Incode. Incidents enter through the Sentinel playbook's
 * request as its template defines it; the worker is killed mid-verification and a new one decides.
 */

const root = packageRoot();
const cacheDir = process.env.ITDR_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'itdr-verify');
const USERS = { verifies: 'alex.wilber@contoso.com', fails: 'adele.vance@contoso.com', ignores: 'demo.user@contoso.com' };
// Long enough for the worker's restart in between, short enough for CI.
const VERIFICATION_TIMEOUT_SECONDS = 75;

function tool(name: string): string {
  return execFileSync('bash', [path.join(root, 'scripts', 'deploy-tools.sh'), name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

describe('production-shaped stack: PostgreSQL, Temporal server with mTLS, the built worker and gateway', { timeout: 15 * 60_000 }, () => {
  let dir: string;
  let postgres: PostgreSql | undefined;
  let cluster: TemporalCluster | undefined;
  let certificates: ClusterCertificates;
  let simulator: RunningSimulator | undefined;
  let client: Client;
  let closeClient: () => Promise<void> = async () => undefined;
  let productEnv: Record<string, string>;
  let gateway: RunningProcess | undefined;
  let worker: RunningProcess | undefined;
  let workerStarts = 0;
  let gatewayUrl: string;
  let workerMetricsUrl: string;
  const secrets: string[] = [];
  const playbookCaller = randomUUID();

  const temporalCliEnv = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    TEMPORAL_ADDRESS: cluster!.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TLS_CERT_PATH: certificates.clientCertPath,
    TEMPORAL_TLS_KEY_PATH: certificates.clientKeyPath,
    TEMPORAL_TLS_CA_PATH: certificates.caPath,
  });

  async function startWorker(): Promise<RunningProcess> {
    workerStarts += 1;
    const started = startProcess(`worker #${workerStarts}`, process.execPath, ['dist/src/worker.js'], {
      cwd: root,
      env: { ...productEnv, NODE_OPTIONS: '--max-old-space-size=256' },
      logFile: path.join(dir, `worker-${workerStarts}.log`),
    });
    await waitFor(
      'the worker to be ready (/readyz)',
      async () => ((await fetch(`${workerMetricsUrl}/readyz`)).status === 200 ? true : undefined),
      {
        timeoutMs: 180_000,
        process: started,
      },
    );
    return started;
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-stack-'));
    // PostgreSQL's own user (CI runs as root) must reach its cluster inside; every key file stays 0600.
    fs.chmodSync(dir, 0o755);
    const tools: TemporalTools = {
      server: tool('temporal-server'),
      sqlTool: tool('temporal-sql-tool'),
      schemaDir: tool('temporal-sql-schema'),
    };
    certificates = createClusterCertificates(path.join(dir, 'tls'));
    postgres = await startPostgreSql(path.join(dir, 'postgresql'), path.join(dir, 'postgresql.log'));
    secrets.push(postgres.password);
    setUpSchemas(tools, postgres);
    cluster = await startTemporalCluster(tools, postgres, certificates, dir);

    // A self-hosted operator creates the namespace; post-deploy.sh registers the search attributes.
    const cli = await temporalCliPath();
    run(
      cli,
      [
        'operator',
        'namespace',
        'create',
        '--address',
        cluster.address,
        '--namespace',
        'default',
        '--retention',
        '72h',
        '--tls-cert-path',
        certificates.clientCertPath,
        '--tls-key-path',
        certificates.clientKeyPath,
        '--tls-ca-path',
        certificates.caPath,
      ],
      { env: temporalCliEnv() },
    );
    const connection = await cluster.connect();
    await waitFor(
      'the namespace to be served',
      async () => {
        await connection.workflowService.listWorkflowExecutions({ namespace: 'default', pageSize: 1 });
        return true;
      },
      { timeoutMs: 60_000, process: cluster.process },
    );
    const register = () => {
      const result = spawnSync('bash', [path.join(root, 'deploy', 'azure', 'post-deploy.sh'), 'search-attributes'], {
        encoding: 'utf8',
        env: { ...temporalCliEnv(), TEMPORAL_CLI: cli },
      });
      assert.equal(result.status, 0, result.stderr);
      return result.stderr;
    };
    assert.equal(register().match(/creating search attribute/g)?.length, ALL_SEARCH_ATTRIBUTES.length);
    // Idempotent: a second run finds every attribute and changes nothing.
    const again = register();
    assert.doesNotMatch(again, /creating/);
    assert.equal(again.match(/ exists$/gm)?.length, ALL_SEARCH_ATTRIBUTES.length);

    const payloadKey = randomBytes(32).toString('base64');
    const webhookSecret = randomBytes(24).toString('base64url');
    secrets.push(payloadKey, webhookSecret);
    const payloadKeyConfig = { id: 'k1', key: Buffer.from(payloadKey, 'base64') };
    client = new Client({
      connection,
      namespace: 'default',
      dataConverter: dataConverterFor({
        address: cluster.address,
        namespace: 'default',
        taskQueue: 'itdr-verify',
        payloadKey: payloadKeyConfig,
      }),
    });
    closeClient = () => connection.close();

    const simulatorTls = ensureDevCertificates(path.join(cacheDir, 'tls'));
    simulator = await startSimulator({
      tls: { certPem: simulatorTls.certPem, keyPem: simulatorTls.keyPem },
      incode: { directory: Object.values(USERS) },
      logger: createLogger({ name: 'simulator', level: 'warn' }),
    });
    const [gatewayPort, workerMetricsPort] = await freePorts(2);
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    workerMetricsUrl = `http://127.0.0.1:${workerMetricsPort}`;
    // Only what a container gets: its environment (the simulator's CA stands in for the public CAs).
    productEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      NODE_EXTRA_CA_CERTS: simulatorTls.caCertPath,
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: cluster.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'itdr-verify',
      TEMPORAL_TLS_CERT_PATH: certificates.clientCertPath,
      TEMPORAL_TLS_KEY_PATH: certificates.clientKeyPath,
      TEMPORAL_TLS_CA_PATH: certificates.caPath,
      PAYLOAD_ENCRYPTION_KEY: payloadKey,
      ...simulatedServicesEnv(simulator),
      ...simulator.identityEnv,
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(workerMetricsPort),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(gatewayPort),
      CONFIRMATION_PAGE_URL: gatewayUrl,
      GATEWAY_ENTRA_TENANT_ID: simulator.tenantId,
      GATEWAY_ENTRA_AUDIENCE: 'api://itdr-verify-gateway',
      GATEWAY_ENTRA_ALLOWED_CALLERS: `sentinel-playbook=${playbookCaller}`,
      GATEWAY_ENTRA_AUTHORITY_HOST: simulator.urls.entra,
      INCODE_WEBHOOK_SECRET: webhookSecret,
      VERIFICATION_TIMEOUT: `${VERIFICATION_TIMEOUT_SECONDS}s`,
      VERIFICATION_JOIN_WINDOW: '0',
    };
    simulator.setWebhookTarget(`${gatewayUrl}/api/webhooks/incode`, { 'x-incode-webhook-secret': webhookSecret });
    worker = await startWorker();
    gateway = startProcess('gateway', process.execPath, ['dist/src/gateway.js'], {
      cwd: root,
      env: productEnv,
      logFile: path.join(dir, 'gateway.log'),
    });
    await waitFor(
      'the gateway to be ready (/readyz)',
      async () => ((await fetch(`${gatewayUrl}/readyz`)).status === 200 ? true : undefined),
      {
        timeoutMs: 60_000,
        process: gateway,
      },
    );
  });

  after(async () => {
    await gateway?.stop();
    await worker?.stop();
    await closeClient().catch(() => undefined);
    await cluster?.stop();
    await postgres?.stop();
    await simulator?.close();
    if (dir && !process.env.ITDR_KEEP_STACK) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The incident as the Sentinel playbook (its template, rendered) sends it, with its managed identity's token. */
  async function sendIncident(user: string) {
    const [accountName, upnSuffix] = user.split('@');
    const incident = simulator!.sentinel.seedIncident({
      title: 'Atypical travel',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const request = playbookRequest(renderPlaybook({ gatewayUrl }), simulator!.sentinel.playbookTrigger(incident.name, 'Create'));
    const token = simulator!.entraTokens.issue({ audience: request.authentication.audience, objectId: playbookCaller });
    const response = await fetch(request.url, {
      method: request.method,
      headers: { ...request.headers, authorization: `Bearer ${token}` },
      body: JSON.stringify(request.body),
    });
    const body = (await response.json()) as { status: string; workflowId: string; interviewId: string; verificationUrl: string };
    assert.equal(
      response.status,
      200,
      `${JSON.stringify(body)}\ngateway log:\n${tail(gateway!.logFile)}\nworker log:\n${tail(worker!.logFile)}`,
    );
    assert.equal(body.status, 'verification_initiated');
    return { incident, verification: body };
  }

  const escalated = (incidentId: string) =>
    waitFor(
      `incident ${incidentId} to be escalated`,
      async () => {
        const current = simulator!.sentinel.getIncident(incidentId)!;
        return current.properties.severity === 'High' ? current : undefined;
      },
      { timeoutMs: (VERIFICATION_TIMEOUT_SECONDS + 120) * 1000 },
    );

  it("registers the product's search attributes within SQL visibility's per-type slots", async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const typeNumber: Record<string, number> = { KEYWORD: 2, INT: 3, KEYWORD_LIST: 7 };
    for (const key of ALL_SEARCH_ATTRIBUTES)
      assert.equal(customAttributes?.[key.name], typeNumber[key.type], `${key.name} is a ${key.type}`);
    // The visibility schema has a fixed number of columns per type (Keyword01 … Keyword10, Int01 …, KeywordList01 …).
    const schema = fs.readFileSync(path.join(tool('temporal-sql-schema'), 'postgresql', 'v12', 'visibility', 'schema.sql'), 'utf8');
    const slots = (column: string) => new Set(schema.match(new RegExp(`^\\s+${column}\\d\\d\\s`, 'gm'))?.map((line) => line.trim())).size;
    for (const [type, column] of [
      ['KEYWORD', 'Keyword'],
      ['INT', 'Int'],
      ['KEYWORD_LIST', 'KeywordList'],
    ] as const) {
      const used = ALL_SEARCH_ATTRIBUTES.filter((key) => key.type === type).length;
      assert.ok(slots(column) > 0, `the schema has ${column} columns`);
      assert.ok(used <= slots(column), `${used} ${type} attributes, ${slots(column)} slots`);
    }
  });

  it('an incident goes from the gateway to a decision in Sentinel, across a worker restart', async () => {
    const verifying = await sendIncident(USERS.verifies);
    const failing = await sendIncident(USERS.fails);
    const waiting = await sendIncident(USERS.ignores);
    // Both employees confirm the activity on the gateway's page (it asks the running workflow).
    await confirmActivity(verifying.verification);
    await confirmActivity(failing.verification);
    ignoreVerification();

    // The worker dies mid-verification; the employees finish Incode's check meanwhile (the gateway signals Temporal).
    await worker!.stop('SIGKILL');
    await passIdentityCheck(simulator!, verifying.verification);
    await failIdentityCheck(simulator!, failing.verification);
    worker = await startWorker();

    const closed = await waitFor(
      `incident ${verifying.incident.name} to be closed`,
      async () => {
        const current = simulator!.sentinel.getIncident(verifying.incident.name)!;
        return current.properties.status === 'Closed' ? current : undefined;
      },
      { timeoutMs: (VERIFICATION_TIMEOUT_SECONDS + 120) * 1000 },
    );
    assert.equal(closed.properties.classification, 'FalsePositive');
    assert.equal((await client.workflow.getHandle(verifying.verification.workflowId).result()).status, 'Verified');

    const failed = await escalated(failing.incident.name);
    assert.equal(failed.properties.status, 'Active');
    assert.deepEqual(
      failed.properties.labels?.map((label) => label.labelName),
      ['identity-verification-failed'],
    );
    const failedOutcome = await client.workflow.getHandle(failing.verification.workflowId).result();
    assert.equal(failedOutcome.status, 'Failed');
    const comments = simulator!.sentinel.listComments(failing.incident.name).map((comment) => comment.properties.message);
    assert.ok(
      comments.some((message) => /FAILED the biometric identity verification/.test(message)),
      comments.join('\n---\n'),
    );

    // Nobody answered the other one: its durable timer fired on the new worker.
    const timedOut = await escalated(waiting.incident.name);
    assert.equal(timedOut.properties.status, 'Active');
    assert.equal((await client.workflow.getHandle(waiting.verification.workflowId).result()).status, 'TimedOut');

    // SQL visibility answers the operators' queries on the product's search attributes.
    const ids = async (query: string) => {
      const found: string[] = [];
      for await (const execution of client.workflow.list({ query })) found.push(execution.workflowId);
      return found;
    };
    await waitFor(
      'visibility to show both decisions',
      async () => ((await ids('VerificationStatus = "TimedOut"')).includes(waiting.verification.workflowId) ? true : undefined),
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(await ids(`IncidentId = "${failing.incident.name}" AND VerificationStatus = "Failed"`), [
      failing.verification.workflowId,
    ]);
    assert.deepEqual(await ids(`VerifiedUser = "${USERS.fails}" AND IncodeInterviewId = "${failing.verification.interviewId}"`), [
      failing.verification.workflowId,
    ]);
    assert.deepEqual(await ids(`IncidentNumber = ${failed.properties.incidentNumber}`), [failing.verification.workflowId]);

    // The worker's secret-expiry schedule lives on this server too.
    const schedule = await client.schedule.getHandle('itdr-verify-secret-expiry').describe();
    assert.equal(schedule.action.type, 'startWorkflow');
  });

  it('writes no secret into any log', () => {
    const logs = [
      gateway!,
      postgres!.process,
      cluster!.process,
      ...Array.from({ length: workerStarts }, (_unused, index) => ({ logFile: path.join(dir, `worker-${index + 1}.log`) })),
    ];
    for (const { logFile } of logs) {
      const text = fs.readFileSync(logFile, 'utf8');
      for (const secret of secrets) assert.ok(!text.includes(secret), `${path.basename(logFile)} contains a secret`);
    }
  });
});

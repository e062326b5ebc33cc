/**
 * The chaos scenario: N incidents through the real gateway while the worker (a separate process) is SIGKILLed
 * and restarted, the Temporal server (SQLite file) and the gateway are restarted, and the simulator injects 429s,
 * 5xx, slow answers, etag conflicts, duplicated / out-of-order / early webhooks. Then every incident is checked.
 * Used by `npm run chaos` (test/chaos/run.ts) and, with small numbers, by test/e2e/chaos-short.test.ts.
 */
import { answerConfirmationPage, INTAKE_LIFTED } from '../helpers/stack';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { Client, Connection } from '@temporalio/client';
import { createAzureCredential } from '../../src/clients/azure-credential';
import { loadGatewayConfig, type GatewayConfig } from '../../src/config/gateway';
import { loadWorkerConfig } from '../../src/config/worker';
import { freePort } from '../../tools/dev/free-port';
import { simulatedServicesEnv } from '../../tools/dev/local-stack';
import { cacheDir } from '../../src/doctor/dev-stack-record';
import { startTemporalDevServer, type TemporalDevServer } from '../../tools/dev/temporal-server';
import { startGateway, type RunningGateway } from '../../src/gateway/create-gateway';
import { createLogger } from '../../src/shared/logger';
import { startSimulator, type Fault, type FaultSpec, type RunningSimulator } from '../../tools/simulator';
import { ensureDevCertificates } from '../../tools/simulator/tls';
import { createTemporalClient } from '../../src/temporal/connection';
import { workflowInterceptorModules } from '../../src/worker/create-worker';

export type PlannedOutcome = 'verified' | 'failed' | 'timeout';

export interface ChaosOptions {
  incidents: number;
  /** How many incidents are driven at once. */
  concurrency: number;
  /** Incident i is not started before i × this (ms), so the process chaos falls amid running verifications. */
  startIntervalMs: number;
  workerKills: number;
  /** VERIFICATION_TIMEOUT in seconds, e.g. 20. */
  verificationTimeoutSeconds: number;
  resultPollInterval: string;
  /** Hard bound on the whole run (ms); the run fails when it is exceeded. */
  deadlineMs: number;
  log?: (line: string) => void;
  seed?: number;
}

export interface IncidentPlan {
  index: number;
  incidentId: string;
  user: string;
  outcome: PlannedOutcome;
  earlyWebhook: boolean;
  duplicateWebhook: boolean;
  outOfOrderWebhook: boolean;
  analystEditWhileWaiting: boolean;
  etagConflict: boolean;
  /** Our closing/escalating PUT of this incident is answered 503 once (never applied). */
  decisionWriteFails: boolean;
  /** Our closing/escalating PUT of this incident is applied, but its answer is lost (the connection is cut). */
  decisionAnswerLost: boolean;
}

interface IncidentRun {
  plan: IncidentPlan;
  workflowId?: string;
  interviewId?: string;
  /** The confirmation page's link the gateway returned. */
  verificationUrl?: string;
  gatewayAttempts: number;
  etagConflictForced: boolean;
  analystDescription?: string;
  error?: string;
}

export interface ChaosReport {
  counts: Record<string, number | string>;
  failures: string[];
  wallMs: number;
}

const FAILURE_LABEL = 'identity-verification-failed';
const ANALYST = 'analyst';
/**
 * No answer (page or Incode) is given later than this before the deadline: the workflow's read-back at the
 * deadline, its retries under injected Incode faults and a loaded machine need that slack to see it.
 */
const ANSWER_MARGIN_MS = 8_000;

/**
 * The plan is index-based so that even a short run has every kind of chaos: outcomes rotate verified / failed /
 * timeout; early, duplicated and out-of-order webhooks, analyst edits, etag conflicts, failing decision writes
 * and decision writes whose answer is lost each go to a fixed share of the incidents. The seed only names the run (and the incident ids).
 */
export function planIncidents(count: number, seed: number): IncidentPlan[] {
  const outcomes: PlannedOutcome[] = ['verified', 'failed', 'timeout'];
  return Array.from({ length: count }, (_, index) => {
    const outcome = outcomes[index % 3];
    const answered = outcome !== 'timeout';
    const etagConflict = answered && index % 7 === 1;
    return {
      index,
      incidentId: `chaos-${seed}-${String(index).padStart(4, '0')}-${randomBytes(3).toString('hex')}`,
      user: `chaos.user${index}@contoso.com`,
      outcome,
      earlyWebhook: answered && index % 5 === 0,
      duplicateWebhook: answered && index % 4 === 1,
      // verified incidents are 0, 3, 6, ...: every other one gets a SESSION_FAILED after its SESSION_SUCCEEDED
      outOfOrderWebhook: outcome === 'verified' && index % 6 === 0,
      analystEditWhileWaiting: index % 6 === 4 || index % 6 === 5,
      etagConflict,
      decisionWriteFails: answered && !etagConflict && index % 7 === 5,
      decisionAnswerLost: answered && !etagConflict && index % 7 === 3,
    };
  });
}

/** The Node process must trust the simulator's CA before it starts (NODE_EXTRA_CA_CERTS). */
export function chaosCaCertPath(): string {
  return ensureDevCertificates(path.join(cacheDir(), 'tls')).caCertPath;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const sink = options.log ?? ((line: string) => process.stderr.write(`chaos: ${line}\n`));
  const log = (line: string) => sink(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const deadline = started + options.deadlineMs;
  const timeLeft = () => deadline - Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 1e6);
  const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));
  if (process.env.NODE_EXTRA_CA_CERTS !== certificates.caCertPath) {
    throw new Error(`NODE_EXTRA_CA_CERTS must be ${certificates.caCertPath} (the simulator's CA) when this process starts`);
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-chaos-'));
  const counters = {
    workerKills: 0,
    workerStarts: 0,
    workerUnexpectedExits: 0,
    temporalRestarts: 0,
    gatewayRestarts: 0,
    gatewayRetries: 0,
    webhooksDuplicated: 0,
    webhooksOutOfOrder: 0,
    webhooksEarly: 0,
    analystEdits: 0,
    etagConflicts: 0,
    replannedAsTimeout: 0,
    answerNotThrough: 0,
  };
  const injected: Fault[] = [];
  const failures: string[] = [];
  const stoppers: Array<() => Promise<void>> = [];
  const plans = planIncidents(options.incidents, seed);
  const runs: IncidentRun[] = plans.map((plan) => ({ plan, gatewayAttempts: 0, etagConflictForced: false }));
  log(`seed ${seed}, ${plans.length} incidents, work dir ${workDir}`);

  try {
    // Temporal: our own dev server on a SQLite file, so a restart keeps every history.
    const dbFilename = path.join(workDir, 'temporal.sqlite');
    const temporalPort = await freePort();
    const temporalLog = path.join(workDir, 'temporal.log');
    let temporal: TemporalDevServer = await startTemporalDevServer({
      port: temporalPort,
      dbFilename,
      headless: true,
      logFile: temporalLog,
    });
    stoppers.push(() => temporal.stop());
    log(`Temporal dev server at ${temporal.address} (${dbFilename})`);

    const bundleStarted = Date.now();
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      workflowInterceptorModules: workflowInterceptorModules({ metrics: true, tracing: false }),
      logger: new DefaultLogger('WARN'),
    });
    const bundlePath = path.join(workDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);
    log(`workflow bundle in ${Date.now() - bundleStarted} ms`);

    // Simulator, configured like tools/dev/local-stack.ts, but the worker runs as a separate process.
    const simulator: RunningSimulator = await startSimulator({
      tls: { certPem: certificates.certPem, keyPem: certificates.keyPem },
      incode: { directory: plans.map((plan) => plan.user) },
      logger: createLogger({ name: 'simulator', level: 'warn', destination: fs.createWriteStream(path.join(workDir, 'simulator.log')) }),
    });
    stoppers.push(() => simulator.close());
    Object.assign(process.env, simulator.identityEnv);
    const apiKey = randomBytes(24).toString('base64url');
    const webhookSecret = randomBytes(24).toString('base64url');
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: `itdr-chaos-${seed}`,
      PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ...simulatedServicesEnv(simulator),
      GATEWAY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_API_KEYS: `chaos=${apiKey}`,
      GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000',
      // The chaos run's incidents all come from one subscription, faster than its share of new incidents.
      ...INTAKE_LIFTED,
      INCODE_WEBHOOK_SECRET: webhookSecret,
      VERIFICATION_TIMEOUT: `${options.verificationTimeoutSeconds}s`,
      RESULT_POLL_INTERVAL: options.resultPollInterval,
      VERIFICATION_JOIN_WINDOW: '0',
      LOG_LEVEL: 'error',
    };
    // Validates before anything starts.
    const credential = createAzureCredential(loadWorkerConfig(env).azure);

    // ---- the worker process ----
    let worker: ChildProcess | undefined;
    let workerStopping = false;
    let workerExited: Promise<void> = Promise.resolve();
    const workerScript = path.join(__dirname, 'worker-process.js');
    const startWorker = async (): Promise<void> => {
      const child = spawn(process.execPath, [workerScript], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          ...env,
          ...simulator.identityEnv,
          NODE_EXTRA_CA_CERTS: certificates.caCertPath,
          CHAOS_WORKFLOW_BUNDLE: bundlePath,
        },
      });
      worker = child;
      counters.workerStarts += 1;
      const stderrLog = fs.createWriteStream(path.join(workDir, `worker-${counters.workerStarts}.log`));
      child.stderr.pipe(stderrLog);
      workerExited = new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (worker === child && !workerStopping) {
            counters.workerUnexpectedExits += 1;
            log(`worker ${child.pid} exited by itself (${signal ?? `code ${code}`}); restarting`);
            worker = undefined;
            void startWorker().catch((err) => failures.push(`worker restart failed: ${err}`));
          }
          resolve();
        }),
      );
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error('worker not ready within 60 s')), 60_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('chaos-worker ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(); // the exit handler above restarts it
        });
      });
    };
    const killWorker = async (): Promise<void> => {
      const child = worker;
      if (!child || child.exitCode !== null) return;
      workerStopping = true;
      child.kill('SIGKILL');
      await workerExited;
      workerStopping = false;
      worker = undefined;
    };
    stoppers.push(killWorker);
    await startWorker();

    // ---- the gateway (restartable, same port so Incode's webhook target stays valid) ----
    let gatewayConfig: GatewayConfig = loadGatewayConfig(env);
    let gateway: RunningGateway | undefined;
    const gatewayLog = fs.createWriteStream(path.join(workDir, 'gateway.log'), { flags: 'a' });
    stoppers.push(async () => void gatewayLog.end());
    let gatewayTemporal: { client: Client; connection: Connection } | undefined;
    const startGatewayNow = async () => {
      gatewayTemporal = await createTemporalClient(gatewayConfig.temporal, { tracing: false });
      gateway = await startGateway({
        config: gatewayConfig,
        client: gatewayTemporal.client,
        connection: gatewayTemporal.connection,
        credential,
        logger: createLogger({ name: 'gateway', level: 'warn', destination: gatewayLog }),
      });
    };
    /** Like a process restart with a 2 s grace: in-flight requests (a caller waiting for its link) are cut off. */
    const stopGateway = async () => {
      const running = gateway;
      if (running) {
        const grace = setTimeout(() => running.server.closeAllConnections(), 2_000);
        await running.close().catch(() => undefined);
        clearTimeout(grace);
      }
      // The old client is closed only at the end: closing it now would make a retry still pending inside
      // the Temporal client throw 'Channel has been shut down' from a timer (an uncaught exception).
      if (gatewayTemporal) oldConnections.push(gatewayTemporal.connection);
      gateway = undefined;
    };
    const oldConnections: Connection[] = [];
    stoppers.push(async () => {
      for (const connection of oldConnections) await connection.close().catch(() => undefined);
    });
    stoppers.push(stopGateway);
    await startGatewayNow();
    const gatewayUrl = gateway!.url;
    gatewayConfig = loadGatewayConfig({ ...env, GATEWAY_PORT: new URL(gatewayUrl).port });
    simulator.setWebhookTarget(`${gatewayUrl}/api/webhooks/incode`, { [gatewayConfig.webhook.headerName]: webhookSecret });
    log(`gateway at ${gatewayUrl}`);

    // Our own client for the final checks (reconnects after the server restart).
    const checker = await createTemporalClient(gatewayConfig.temporal, { tracing: false });
    stoppers.push(() => checker.connection.close());

    const post = async (pathName: string, body: unknown, headers: Record<string, string>) => {
      const response = await fetch(`${gatewayUrl}${pathName}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: response.status, body: parsed };
    };
    /** A webhook as Incode sends it; retried while the gateway restarts (connection refused / 5xx). */
    const sendWebhook = async (payload: Record<string, unknown>) => {
      for (let attempt = 0; attempt < 20 && timeLeft() > 0; attempt++) {
        try {
          const answer = await post('/api/webhooks/incode', payload, { [gatewayConfig.webhook.headerName]: webhookSecret });
          if (answer.status < 500) return answer.status;
        } catch {
          // gateway restarting
        }
        await sleep(500);
      }
      return undefined;
    };

    // ---- one incident ----
    let startedCount = 0;
    const gatewayAnswers = new Map<string, number>();
    const drive = async (run: IncidentRun): Promise<void> => {
      const { plan } = run;
      const [accountName, upnSuffix] = plan.user.split('@');
      simulator.sentinel.seedIncident({
        incidentId: plan.incidentId,
        title: `Chaos ${plan.index}`,
        severity: 'Medium',
        accounts: [{ accountName, upnSuffix }],
      });
      startedCount += 1;
      let answer: { status: number; body: any } | undefined;
      // The playbook retries until it gets the link: the gateway or Temporal may be restarting.
      for (let attempt = 0; attempt < 60 && timeLeft() > 0; attempt++) {
        run.gatewayAttempts += 1;
        try {
          answer = await post(
            '/api/incidents',
            { incidentId: plan.incidentId, severity: 'Medium', userEmail: plan.user },
            { 'x-api-key': apiKey },
          );
          if (answer.status === 200) break;
        } catch (err) {
          answer = { status: 0, body: String(err) };
        }
        const code = `${answer.status} ${answer.body?.error?.code ?? ''}`.trim();
        gatewayAnswers.set(code, (gatewayAnswers.get(code) ?? 0) + 1);
        counters.gatewayRetries += 1;
        await sleep(1_000);
      }
      if (answer?.status !== 200) throw new Error(`no link from the gateway: ${answer?.status} ${JSON.stringify(answer?.body)}`);
      run.workflowId = answer.body.workflowId;
      run.interviewId = answer.body.interviewId;
      run.verificationUrl = answer.body.verificationUrl;
      if (!run.interviewId) throw new Error(`no interviewId in ${JSON.stringify(answer.body)}`);

      if (plan.analystEditWhileWaiting) {
        simulator.sentinel.simulateAnalystEdit(plan.incidentId, { owner: { assignedTo: 'Chaos Analyst', email: 'analyst@contoso.com' } });
        counters.analystEdits += 1;
      }
      if (plan.outcome === 'timeout') return;
      if (plan.earlyWebhook) counters.webhooksEarly += 1;
      else await sleep(500 + Math.random() * 6_000);

      if (plan.decisionWriteFails) {
        simulator.faults.add({
          service: 'arm',
          method: 'PUT',
          pathIncludes: `/incidents/${plan.incidentId}?`,
          status: 503,
          retryAfterSeconds: 1,
          times: 1,
        });
      }
      if (plan.decisionAnswerLost) {
        simulator.faults.add({
          service: 'arm',
          method: 'PUT',
          pathIncludes: `/incidents/${plan.incidentId}?`,
          loseResponse: true,
          times: 1,
        });
      }
      // The deadline starts when the workflow has created the session (or later). A worker killed while the link
      // was being made can delay the link by an activity's start-to-close timeout (30-60 s): an answer that would
      // come too close to the deadline is not given, and the incident is re-planned as a timeout.
      const created = simulator.incode.getSession(run.interviewId)!.createdAt.getTime();
      const answerBy = created + options.verificationTimeoutSeconds * 1000 - ANSWER_MARGIN_MS;
      if (Date.now() > answerBy) {
        counters.replannedAsTimeout += 1;
        plan.outcome = 'timeout';
        return;
      }
      // The user confirms the activity on the page first. A gateway restart or a killed worker may keep the answer
      // from getting through for a while: the user tries again until shortly before the deadline. An answer that
      // never got through is no "This was me": the incident is re-planned as a timeout (escalated, never closed).
      if (plan.outcome === 'verified') {
        let answered = false;
        while (!answered && Date.now() < answerBy && timeLeft() > 0) {
          const answer = await answerConfirmationPage(run.verificationUrl!, 'was-me').catch(() => ({ status: 0 }));
          answered = answer.status === 303;
          if (!answered) await sleep(1_000);
        }
        if (!answered) {
          counters.answerNotThrough += 1;
          plan.outcome = 'timeout';
          return;
        }
      }
      // Under load the page's answer can take seconds: a session completed too close to the deadline may rightly
      // be decided as a timeout (the deadline's read-back may not see it), so it is not completed at all.
      if (Date.now() > answerBy) {
        counters.replannedAsTimeout += 1;
        plan.outcome = 'timeout';
        return;
      }
      // Etag conflict: hold our identity's next PUT of this incident, and let an analyst edit meanwhile.
      const hold = plan.etagConflict
        ? simulator.faults.add({ service: 'arm', method: 'PUT', pathIncludes: `/incidents/${plan.incidentId}?`, delayMs: 1_500, times: 1 })
        : undefined;
      const outcome = plan.outcome === 'verified' ? 'succeeded' : 'failed';
      await simulator.incode.completeSession(run.interviewId, outcome);
      if (hold) {
        const until = Date.now() + 90_000;
        while (hold.hits === 0 && Date.now() < until && timeLeft() > 0) await sleep(100);
        if (hold.hits > 0) {
          run.analystDescription = `Analyst note ${plan.index} (edited while our write was in flight)`;
          simulator.sentinel.simulateAnalystEdit(plan.incidentId, { description: run.analystDescription });
          counters.analystEdits += 1;
          counters.etagConflicts += 1;
          run.etagConflictForced = true;
        }
      }
      const session = simulator.incode.getSession(run.interviewId)!;
      const payload = (eventType: string) => ({
        eventType,
        interviewId: session.interviewId,
        externalCustomerId: session.externalCustomerId,
        loginHint: session.loginHint,
        timestamp: (session.completedAt ?? new Date()).toISOString(),
      });
      const recorded = plan.outcome === 'verified' ? 'SESSION_SUCCEEDED' : 'SESSION_FAILED';
      if (plan.duplicateWebhook) {
        for (let copy = 0; copy < 2; copy++) {
          await sendWebhook(payload(recorded));
          counters.webhooksDuplicated += 1;
        }
      }
      if (plan.outOfOrderWebhook) {
        await sleep(Math.random() * 1_000);
        await sendWebhook(payload('SESSION_FAILED'));
        counters.webhooksOutOfOrder += 1;
      }
    };

    // ---- faults: a steady trickle while incidents run ----
    // ARM faults hit reads and comment writes; incident PUTs get their faults per incident (decisionWriteFails,
    // etagConflict), so that a global fault never takes an etag hold's place (the first matching fault wins).
    const faultMenu: FaultSpec[] = [
      { service: 'arm', method: 'GET', status: 429, retryAfterSeconds: 1, times: 3 },
      { service: 'arm', method: 'PUT', pathIncludes: '/comments/', status: 503, times: 2 },
      { service: 'arm', method: 'GET', delayMs: 2_500, times: 3 },
      { service: 'arm', method: 'PUT', pathIncludes: '/comments/', status: 429, retryAfterSeconds: 2, times: 1 },
      { service: 'arm', method: 'PUT', pathIncludes: '/comments/', loseResponse: true, times: 1 },
      { service: 'arm', method: 'GET', status: 500, times: 2 },
      { service: 'incodeApi', status: 429, retryAfterSeconds: 1, times: 2 },
      { service: 'incodeApi', status: 500, times: 2 },
      { service: 'incodeApi', delayMs: 3_000, times: 2 },
      { service: 'keyVault', status: 503, times: 1 },
      { service: 'keyVault', delayMs: 1_500, times: 1 },
    ];
    let driversDone = false;
    const faultLoop = (async () => {
      for (let i = 0; !driversDone && timeLeft() > 0 && i < 10_000; i++) {
        injected.push(simulator.faults.add(faultMenu[i % faultMenu.length]));
        await sleep(1_500);
      }
    })();

    // ---- process chaos, triggered by progress (fraction of incidents started) ----
    const events: Array<{ at: number; name: string; run: () => Promise<void> }> = [];
    for (let k = 0; k < options.workerKills; k++) {
      events.push({
        at: (k + 1) / (options.workerKills + 1),
        name: 'kill worker',
        run: async () => {
          await killWorker();
          counters.workerKills += 1;
          await sleep(1_000 + Math.random() * 2_000);
          await startWorker();
        },
      });
    }
    events.push({
      at: 0.45,
      name: 'restart Temporal',
      run: async () => {
        await temporal.stop();
        await sleep(1_000);
        temporal = await startTemporalDevServer({ port: temporalPort, dbFilename, headless: true, logFile: `${temporalLog}.2` });
        counters.temporalRestarts += 1;
      },
    });
    events.push({
      at: 0.65,
      name: 'restart gateway',
      run: async () => {
        await stopGateway();
        await sleep(1_000);
        await startGatewayNow();
        counters.gatewayRestarts += 1;
      },
    });
    events.sort((a, b) => a.at - b.at);
    const chaosLoop = (async () => {
      for (const event of events) {
        while (startedCount < Math.ceil(event.at * plans.length) && !driversDone && timeLeft() > 0) await sleep(200);
        if (timeLeft() <= 0) return;
        const t = Date.now();
        log(`${event.name} (${startedCount}/${plans.length} started)`);
        try {
          await event.run();
        } catch (err) {
          failures.push(`${event.name} failed: ${err instanceof Error && err.stack ? err.stack : String(err)}`);
        }
        log(`${event.name}: done in ${Date.now() - t} ms`);
      }
    })();

    // ---- drive the incidents with bounded concurrency ----
    let next = 0;
    const drivingStarted = Date.now();
    const lanes = Array.from({ length: Math.min(options.concurrency, runs.length) }, async () => {
      while (next < runs.length && timeLeft() > 0) {
        const run = runs[next++];
        const notBefore = drivingStarted + run.plan.index * options.startIntervalMs;
        if (notBefore > Date.now()) await sleep(notBefore - Date.now());
        const t0 = Date.now();
        try {
          await drive(run);
          if (Date.now() - t0 > 20_000)
            log(
              `incident ${run.plan.index} took ${((Date.now() - t0) / 1000).toFixed(1)} s to drive (${JSON.stringify(run.plan)}, ` +
                `${run.gatewayAttempts} gateway calls)`,
            );
        } catch (err) {
          run.error = (err as Error).message;
        }
        await sleep(100 + Math.random() * 300);
      }
    });
    await Promise.all(lanes);
    await chaosLoop; // every planned event has happened (they are keyed to incidents started)
    driversDone = true;
    await faultLoop;
    log('all incidents driven; waiting for the workflows');

    // ---- wait until every workflow is closed ----
    const closedStatus = new Map<string, string>();
    while (timeLeft() > 0) {
      const open = runs.filter((run) => run.workflowId && !closedStatus.has(run.workflowId));
      if (open.length === 0) break;
      await Promise.all(
        open.map(async (run) => {
          try {
            const description = await checker.client.workflow.getHandle(run.workflowId!).describe();
            if (description.status.name !== 'RUNNING') closedStatus.set(run.workflowId!, description.status.name);
          } catch {
            // server briefly unavailable: next round
          }
        }),
      );
      await sleep(1_000);
    }

    log('every workflow closed (or deadline)');
    // ---- checks ----
    const outcomes: Record<PlannedOutcome, string> = { verified: 'Verified', failed: 'Failed', timeout: 'TimedOut' };
    let ourChanges = 0;
    let conflictsResolved = 0;
    for (const run of runs) {
      const { plan } = run;
      const tag =
        `incident ${plan.index} (${plan.incidentId}, planned ` + `${plan.outcome}${run.workflowId ? `, workflow ${run.workflowId}` : ''})`;
      if (run.error || !run.workflowId) {
        failures.push(`${tag}: not started: ${run.error ?? 'no workflow id'}`);
        continue;
      }
      const closed = closedStatus.get(run.workflowId);
      if (closed !== 'COMPLETED') {
        failures.push(`${tag}: workflow ${closed ?? 'still RUNNING at the deadline'} (lost)`);
      } else {
        try {
          const result = await checker.client.workflow.getHandle(run.workflowId).result();
          // No analyst closes an incident here: every decision is ours, retried or not.
          const expectedAction = plan.outcome === 'verified' ? 'Closed' : 'Escalated';
          if (result.status === outcomes[plan.outcome] && result.incidentAction !== expectedAction) {
            failures.push(`${tag}: incident action ${result.incidentAction}, expected ${expectedAction}`);
          }
          if (result.status !== outcomes[plan.outcome]) {
            const session = run.interviewId ? simulator.incode.getSession(run.interviewId) : undefined;
            const deliveries = simulator.incode.webhookDeliveries().filter((delivery) => delivery.interviewId === run.interviewId);
            failures.push(
              `${tag}: workflow result ${result.status}, expected ${outcomes[plan.outcome]}; evidence: ` +
                JSON.stringify({
                  result,
                  session: session && {
                    createdAt: session.createdAt,
                    completedAt: session.completedAt,
                    state: session.state,
                    webhook: session.webhook,
                  },
                  deliveries: deliveries.map((d) => ({ at: d.at, status: d.status, error: d.error })),
                }),
            );
          }
        } catch (err) {
          failures.push(`${tag}: could not read the result: ${(err as Error).message}`);
        }
      }
      const incident = simulator.sentinel.getIncident(plan.incidentId)!;
      const p = incident.properties;
      if (plan.outcome === 'verified') {
        if (p.status !== 'Closed' || p.classification !== 'FalsePositive')
          failures.push(`${tag}: expected Closed/FalsePositive, is ${p.status}/${p.classification}`);
      } else {
        const labels = (p.labels ?? []).map((label) => label.labelName);
        if (p.status !== 'Active' || p.severity !== 'High' || !labels.includes(FAILURE_LABEL)) {
          failures.push(`${tag}: expected Active/High/${FAILURE_LABEL}, is ${p.status}/${p.severity}/${labels.join(',')}`);
        }
      }
      if (run.analystDescription !== undefined && p.description !== run.analystDescription) {
        failures.push(`${tag}: the analyst's description edit was lost (now ${JSON.stringify(p.description)})`);
      }
      const audit = simulator.sentinel.auditLog(plan.incidentId);
      const decisive = audit.filter(
        (entry) =>
          entry.actor !== ANALYST &&
          entry.actor !== 'seed' &&
          entry.kind === 'incidentUpdated' &&
          (entry.changes.status || entry.changes.severity),
      );
      ourChanges += decisive.length;
      if (decisive.length !== 1) {
        failures.push(
          `${tag}: ${decisive.length} closing/escalating changes by our identity: ` +
            `${JSON.stringify(decisive.map((e) => ({ at: e.at, changes: e.changes })))}`,
        );
      }
      if (run.etagConflictForced && decisive.length === 1) {
        // Our write must carry the etag the analyst's edit produced: the held PUT (older etag) lost with 409
        // and the change was re-read and re-applied.
        // Other analyst edits may land in between, so the etag need not be that edit's: what matters is that our
        // write came after it (so it was re-read and re-applied) and kept it (checked above).
        const edit = audit.find((entry) => entry.kind === 'analystEdit' && entry.changes.description);
        if (edit && audit.indexOf(decisive[0]) > audit.indexOf(edit)) conflictsResolved += 1;
        else
          failures.push(
            `${tag}: our change was not applied on top of the analyst's edit (etag ${decisive[0].etagBefore}, analyst ` +
              `${edit?.etagAfter})`,
          );
      }
      const comments = simulator.sentinel.listComments(plan.incidentId);
      const ids = comments.map((comment) => comment.name.toLowerCase());
      if (new Set(ids).size !== ids.length) failures.push(`${tag}: duplicate comment ids ${ids.join(',')}`);
      const messages = comments.map((comment) => comment.properties.message);
      const repeated = messages.filter((message, i) => messages.indexOf(message) !== i);
      if (repeated.length > 0) failures.push(`${tag}: repeated comment(s): ${JSON.stringify(repeated.map((m) => m.slice(0, 120)))}`);
      // The "requested" comment, and the verdict's audit: a decision comment, or a close's classification comment.
      if (comments.length < (p.status === 'Closed' && p.classificationComment ? 1 : 2))
        failures.push(`${tag}: only ${comments.length} comment(s)`);
      if (messages.some((message) => /closed by an analyst/.test(message)))
        failures.push(`${tag}: a comment credits an analyst with our close`);
    }
    if (timeLeft() <= 0) failures.push(`run exceeded its deadline of ${options.deadlineMs / 1000} s`);

    const byOutcome = (outcome: PlannedOutcome) => plans.filter((plan) => plan.outcome === outcome).length;
    const faultsHit = injected.reduce((sum, fault) => sum + fault.hits, 0);
    const faultSlots = injected.reduce((sum, fault) => sum + fault.times, 0);
    const holds = runs.filter((run) => run.plan.etagConflict).length;
    const counts: Record<string, number | string> = {
      seed,
      incidents: plans.length,
      'planned verified': byOutcome('verified'),
      'planned failed': byOutcome('failed'),
      'planned timeout': byOutcome('timeout'),
      'link came too late: re-planned as timeout': counters.replannedAsTimeout,
      '"This was me" never got through: re-planned as timeout': counters.answerNotThrough,
      'workflows completed': [...closedStatus.values()].filter((status) => status === 'COMPLETED').length,
      'closing/escalating changes (ours)': ourChanges,
      'worker kills (SIGKILL)': counters.workerKills,
      'worker starts': counters.workerStarts,
      'worker exits on its own': counters.workerUnexpectedExits,
      'Temporal restarts': counters.temporalRestarts,
      'gateway restarts': counters.gatewayRestarts,
      'gateway calls retried': counters.gatewayRetries,
      'gateway answers retried (status code)': [...gatewayAnswers].map(([code, n]) => `${code}: ${n}`).join(', ') || '-',
      'faults injected (rules)':
        injected.length + holds + runs.filter((run) => run.plan.decisionWriteFails || run.plan.decisionAnswerLost).length,
      'fault requests planned': faultSlots,
      'fault requests hit': faultsHit,
      'webhooks duplicated (sent again)': counters.webhooksDuplicated,
      'webhooks out of order': counters.webhooksOutOfOrder,
      'webhooks before the wait': counters.webhooksEarly,
      'analyst edits': counters.analystEdits,
      'etag holds planned': holds,
      'etag conflicts forced': counters.etagConflicts,
      'etag conflicts re-applied after 409': conflictsResolved,
      'decision writes answered 503': runs.filter((run) => run.plan.decisionWriteFails).length,
      'decision answers lost': runs.filter((run) => run.plan.decisionAnswerLost).length,
      'Incode webhook deliveries': simulator.incode.webhookDeliveries().length,
      'wall time (s)': ((Date.now() - started) / 1000).toFixed(1),
      failures: failures.length,
    };
    return { counts, failures, wallMs: Date.now() - started };
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    if (failures.length === 0) fs.rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir} (Temporal and worker logs)`);
  }
}

export function formatCounts(counts: Record<string, number | string>): string {
  const width = Math.max(...Object.keys(counts).map((key) => key.length));
  return Object.entries(counts)
    .map(([key, value]) => `  ${key.padEnd(width)}  ${String(value).padStart(8)}`)
    .join('\n');
}

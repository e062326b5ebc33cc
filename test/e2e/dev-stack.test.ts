import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devBanner, startDevStack, type DevStack, type DevStackOptions } from '../../tools/dev/dev-stack';
import { freePort } from '../../tools/dev/free-port';
import { startLocalStack } from '../../tools/dev/local-stack';
import { workflowInterceptorModules } from '../../src/worker/create-worker';
import { answerConfirmationPage } from '../helpers/stack';
import { eventually, workflowBundle } from '../helpers/temporal';

const root = path.join(__dirname, '..', '..', '..');

interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'dist', 'src', script), ...args],
      { cwd: root, env, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}
const show = (result: ProcessResult) => `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Seven consecutive free ports for the simulator (npm run dev's DEV_SIMULATOR_PORT layout). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await portIsFree(port);
    if (free) return base;
  }
  throw new Error('no range of free ports found');
}

async function call(dev: DevStack, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${dev.stack.gateway.url}${route}`, {
    method,
    headers: { 'x-api-key': dev.stack.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/**
 * `npm run dev` as a newcomer uses it: one dev identity per machine (the state folder's secrets, reused), the
 * banner's commands (curl with the incident's own severity, the CLI with its environment, the doctor), and
 * DEV_PERSIST=1 across a restart with a verification waiting, which is then read and decided.
 */
describe('npm run dev: dev identity, banner commands, DEV_PERSIST=1', () => {
  let stateDir: string;
  let options: DevStackOptions;
  let dev: DevStack | undefined;

  before(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'itdr-dev-state-'));
    options = {
      stateDir,
      persist: true,
      temporalPort: await freePort(),
      gatewayPort: await freePort(),
      simulatorBasePort: await freePortRange(7),
      logLevel: 'warn',
      env: { VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' },
      workflowBundle: await workflowBundle(workflowInterceptorModules({ metrics: true, tracing: false })),
    };
  });
  after(async () => {
    await dev?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps its secrets, prints working commands, and finds a waiting verification again after a restart', async () => {
    dev = await startDevStack(options);
    assert.equal(dev.identityCreated, true);
    assert.equal(dev.restored, false);
    const identityFile = path.join(stateDir, 'identity.json');
    assert.equal(statSync(identityFile).mode & 0o777, 0o600, 'the secrets are readable by their owner only');
    const firstApiKey = dev.stack.apiKey;
    const firstPayloadKey = dev.stack.env.PAYLOAD_ENCRYPTION_KEY;

    const banner = devBanner(dev);
    const incident = dev.demoIncident;
    assert.equal(incident.properties.severity, 'Medium');
    const curlBody = /-d '(\{.*\})'/.exec(banner)?.[1];
    assert.ok(curlBody, banner);
    assert.deepEqual(JSON.parse(curlBody), { incidentId: incident.name, severity: 'Medium', userEmail: 'demo.user@contoso.com' });
    assert.ok(banner.includes(`x-api-key: ${firstApiKey}`));
    for (const command of ['list', `show ${incident.name}`, `resend ${incident.name}`, `approve ${incident.name}`]) {
      assert.ok(banner.includes(`npm run -s cli -- ${command}`), `the banner names "${command}":\n${banner}`);
    }
    assert.match(banner, /npm run doctor/);
    assert.match(banner, /npm test/);

    // The banner's curl, as sent.
    const started = await call(dev, 'POST', '/api/incidents', JSON.parse(curlBody));
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { workflowId, interviewId, verificationUrl } = started.body as {
      workflowId: string;
      interviewId: string;
      verificationUrl: string;
    };

    // The banner's CLI environment: the file it names (the payload key is in it, never in the banner).
    const sourced = /set -a; \. (.+); set \+a\n/.exec(banner)?.[1];
    assert.ok(sourced, banner);
    const envFile = sourced.startsWith('~/') ? path.join(process.env.HOME ?? '', sourced.slice(2)) : sourced;
    assert.equal(envFile, path.join(stateDir, 'cli.env'));
    const cliEnv = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    assert.ok(cliEnv.PAYLOAD_ENCRYPTION_KEY, 'cli.env holds the payload key');
    assert.ok(!banner.includes(cliEnv.PAYLOAD_ENCRYPTION_KEY), 'the banner never prints the payload key');
    const shellEnv = { PATH: process.env.PATH, HOME: process.env.HOME, USER: process.env.USER };
    const listed = await eventually(
      async () => {
        const result = await run('cli.js', ['list', '--json'], { ...shellEnv, ...cliEnv });
        assert.equal(result.code, 0, show(result));
        return (JSON.parse(result.stdout) as Array<{ workflowId: string; status?: string }>).find(
          (row) => row.workflowId === workflowId && row.status === 'AwaitingUser',
        );
      },
      30_000,
      'the verification in the CLI list',
    );
    assert.equal(listed.workflowId, workflowId);
    const shown = await run('cli.js', ['show', incident.name], { ...shellEnv, ...cliEnv });
    assert.equal(shown.code, 0, show(shown));
    assert.match(shown.stdout, /Status\s+AwaitingUser/);

    // The doctor beside it, with nothing but the state folder: every check passes.
    const doctor = await run('doctor.js', [], { ...shellEnv, DEV_STATE_DIR: stateDir });
    assert.equal(doctor.code, 0, show(doctor));
    assert.match(doctor.stdout, /Checking the local dev stack/);
    assert.match(doctor.stdout, /All 12 checks passed\./);
    for (const secret of [firstApiKey, firstPayloadKey, dev.stack.webhookSecret])
      assert.ok(!doctor.stdout.includes(secret), 'no secret printed');

    // The user confirms the activity before the restart; Incode's check is left for after it.
    const confirmed = await answerConfirmationPage(verificationUrl, 'was-me');
    assert.equal(confirmed.status, 303, confirmed.html);
    const incodeUrl = confirmed.location!;

    // Restart with the verification waiting.
    await dev.stop();
    dev = undefined;
    assert.ok(!existsSync(path.join(stateDir, 'stack.json')), 'the record of a running stack is gone once it stopped');
    assert.ok(existsSync(path.join(stateDir, 'simulator.json')) && existsSync(path.join(stateDir, 'temporal.sqlite')));
    dev = await startDevStack(options);
    assert.equal(dev.identityCreated, false);
    assert.equal(dev.restored, true);
    assert.equal(dev.stack.apiKey, firstApiKey, 'the same API key');
    assert.equal(dev.stack.env.PAYLOAD_ENCRYPTION_KEY, firstPayloadKey, 'the same payload key');

    const status = await eventually(
      async () => {
        const answer = await call(dev!, 'GET', `/api/incidents/${incident.name}`);
        return answer.status === 200 ? answer : undefined;
      },
      30_000,
      'the status after the restart',
    );
    assert.equal(status.body.status, 'AwaitingUser', JSON.stringify(status.body));
    assert.equal(status.body.interviewId, interviewId);
    assert.equal(dev.stack.simulator.sentinel.getIncident(incident.name)?.properties.status, 'New', 'the incident came back');
    const page = await fetch(verificationUrl);
    assert.equal(page.status, 200, 'the confirmation link still opens (same gateway port, same link key)');
    assert.match(await page.text(), /Continue to the identity check/, 'the answer given before the restart is kept');
    const incodePage = await fetch(incodeUrl);
    assert.equal(incodePage.status, 200, "Incode's link still opens (stable simulator ports, restored session)");
    await incodePage.body?.cancel();

    // A gateway with another key is told that the key is at fault. (Its simulator points this process's managed
    // identity elsewhere while it runs: put it back afterwards for the worker.)
    const identityEnv = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
    const otherGateway = await startLocalStack({
      temporalAddress: dev.temporal.address,
      directory: [],
      worker: false,
      identity: { payloadEncryptionKey: randomBytes(32).toString('base64'), apiKey: firstApiKey, webhookSecret: dev.stack.webhookSecret },
      logLevel: 'silent',
    });
    try {
      const answer = await fetch(`${otherGateway.gateway.url}/api/incidents/${incident.name}`, { headers: { 'x-api-key': firstApiKey } });
      const body = (await answer.json()) as { error: { code: string; message: string } };
      assert.equal(answer.status, 500, JSON.stringify(body));
      assert.equal(body.error.code, 'payload_key_mismatch');
      assert.match(body.error.message, /PAYLOAD_ENCRYPTION_KEY/);
    } finally {
      await otherGateway.stop();
      Object.assign(process.env, identityEnv);
    }

    // Decided after the restart: the user, who answered "This was me", passes Incode's check; the incident closes.
    const completed = await dev.stack.simulator.incode.completeSession(interviewId, 'succeeded');
    assert.equal(completed.webhook.delivered, true);
    const closed = await eventually(
      async () => {
        const found = dev!.stack.simulator.sentinel.getIncident(incident.name);
        return found?.properties.status === 'Closed' ? found : undefined;
      },
      30_000,
      'the incident closed',
    );
    assert.equal(closed.properties.classification, 'FalsePositive', 'closed as the user confirmed it was them');
    const finished = await call(dev, 'GET', `/api/incidents/${incident.name}`);
    assert.equal(finished.body.status, 'Verified', JSON.stringify(finished.body));
  });
});

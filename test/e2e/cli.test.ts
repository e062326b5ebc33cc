import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { statusQuery } from '../../src/shared/messages';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

const root = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(root, 'dist', 'src', 'cli.js');
const historiesDir = path.join(root, 'test', 'replay', 'histories');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The operator CLI (src/cli.ts) as an operator runs it: the compiled entry point in its own process, configured
 * from the gateway's environment. Asynchronous on purpose: the worker of the stack runs in this process and must
 * keep serving the workflows while the CLI waits for their answers.
 */
describe('operator CLI against the running stack', () => {
  let stack: TestStack;
  let tmp: string;

  before(async () => {
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h', REVIEW_TIMEOUT: '1h' });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'itdr-cli-test-'));
  });
  after(async () => {
    await stack?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Only what an operator's shell would have plus the deployment's settings; nothing of this process leaks in. */
  function cliEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      USER: process.env.USER,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
      ...stack.env,
      ...overrides,
    };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    return env;
  }

  function cli(args: string[], overrides: Record<string, string | undefined> = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(process.execPath, [cliPath, ...args], { cwd: root, env: cliEnv(overrides), timeout: 90_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }
  const show = (result: CliResult) => `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  async function json(args: string[]): Promise<any> {
    const result = await cli([...args, '--json']);
    assert.equal(result.code, 0, show(result));
    return JSON.parse(result.stdout);
  }

  async function start() {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const body = started.body as { workflowId: string; interviewId: string; verificationUrl: string; expiresAt: string };
    return { incident, incidentId: incident.name, ...body, handle: stack.client.workflow.getHandle(body.workflowId) };
  }
  const comments = (id: string) => stack.simulator.sentinel.listComments(id).map((comment) => comment.properties.message);
  const awaitingReview = async (handle: ReturnType<TestStack['client']['workflow']['getHandle']>) =>
    eventually(async () => ((await handle.query(statusQuery)).status === 'AwaitingReview' ? true : undefined), 15_000, 'AwaitingReview');

  it('has --help on every command, and answers usage and configuration errors with exit 2', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0, show(help));
    for (const command of ['list', 'show', 'resend', 'cancel', 'approve', 'reject', 'replay']) {
      assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
      const commandHelp = await cli([command, '--help']);
      assert.equal(commandHelp.code, 0, show(commandHelp));
      assert.match(commandHelp.stdout, new RegExp(`Usage: itdr-verify ${command}`));
      assert.match(commandHelp.stdout, /--json/);
    }
    assert.match((await cli(['list', '--help'])).stdout, /--stuck[\s\S]*--older-than[\s\S]*--status[\s\S]*--user/);
    assert.match((await cli(['resend', '--help'])).stdout, /--show-link/);

    const usage: Array<[string[], RegExp]> = [
      [[], /Usage: itdr-verify/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['show'], /missing required argument 'id'/],
      [['show', 'a', 'b'], /too many arguments/],
      [['list', '--status', 'Bogus'], /Allowed choices are/],
      [['list', '--older-than', '2h'], /--older-than goes with --stuck/],
      [['list', '--stuck', '--older-than', 'soon'], /not a duration/],
      [['list', '--limit', '0'], /whole number/],
      [['list', '--bogus'], /unknown option '--bogus'/],
      [['show', `it's"quoted`], /cannot be searched for/],
      [['replay', path.join(tmp, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
    ];
    for (const [args, message] of usage) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${show(result)}`);
      assert.match(result.stderr, message, `${args.join(' ')}: ${show(result)}`);
      assert.equal(result.stdout, '', `${args.join(' ')}: nothing on stdout`);
    }

    const noKey = await cli(['list'], { PAYLOAD_ENCRYPTION_KEY: undefined });
    assert.equal(noKey.code, 2, show(noKey));
    assert.match(noKey.stderr, /Invalid CLI configuration:\n {2}PAYLOAD_ENCRYPTION_KEY: is required but not set/);
    const badKey = await cli(['list'], { PAYLOAD_ENCRYPTION_KEY: 'c2hvcnQ=' });
    assert.equal(badKey.code, 2, show(badKey));
    assert.match(badKey.stderr, /PAYLOAD_ENCRYPTION_KEY: must be 32 bytes/);
    const halfTls = await cli(['list'], { TEMPORAL_TLS_CERT_PATH: '/nonexistent/cert.pem' });
    assert.equal(halfTls.code, 2, show(halfTls));
    assert.match(halfTls.stderr, /TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together/);
  });

  it('lists verifications (filters, --stuck with --older-than) and shows one by incident id or workflow id', async () => {
    const verification = await start();
    const listed = await eventually(
      async () => ((await json(['list'])) as any[]).find((row) => row.workflowId === verification.workflowId),
      20_000,
      'the verification in the list',
    );
    assert.equal(listed.incidentId, verification.incidentId);
    assert.equal(listed.user, DEMO_USER);
    assert.equal(listed.executionStatus, 'RUNNING');
    assert.equal(listed.workflowType, 'identityVerification');
    await eventually(
      async () => {
        const row = ((await json(['list', '--user', DEMO_USER])) as any[]).find((entry) => entry.workflowId === verification.workflowId);
        return row?.status === 'AwaitingUser' && row?.interviewId === verification.interviewId ? row : undefined;
      },
      20_000,
      'AwaitingUser and the interview id in visibility',
    );

    const ids = async (args: string[]) => ((await json(['list', ...args])) as any[]).map((row) => row.workflowId);
    assert.ok((await ids(['--status', 'AwaitingUser', '--user', DEMO_USER])).includes(verification.workflowId));
    assert.ok(!(await ids(['--status', 'Verified'])).includes(verification.workflowId));
    assert.ok(!(await ids(['--user', 'nobody@contoso.com'])).includes(verification.workflowId));
    assert.ok(!(await ids(['--stuck'])).includes(verification.workflowId), 'not stuck: started less than 2h ago');
    // Two seconds: the query's StartTime bound is cut to whole seconds, up to one second earlier than "1s ago".
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.ok((await ids(['--stuck', '--older-than', '1s'])).includes(verification.workflowId), 'stuck for more than 1s');
    assert.ok((await ids(['--stuck', '--older-than', '1s', '--status', 'AwaitingUser'])).includes(verification.workflowId));

    const table = await cli(['list', '--user', DEMO_USER]);
    assert.equal(table.code, 0, show(table));
    assert.match(table.stdout, /^WORKFLOW ID\s+INCIDENT\s+USER\s+STATUS\s+SESSION\s+STARTED/);
    const line = table.stdout.split('\n').find((entry) => entry.startsWith(verification.workflowId));
    assert.ok(line, show(table));
    assert.match(
      line,
      new RegExp(`${verification.incidentId}\\s+${DEMO_USER.replace('.', '\\.')}\\s+AwaitingUser\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d`),
    );
    assert.match(table.stderr, /Visibility query .*WorkflowType IN \('identityVerification', 'incidentVerification'\)/);

    for (const id of [verification.incidentId, verification.workflowId]) {
      const shown = await json(['show', id]);
      assert.equal(shown.workflowId, verification.workflowId);
      assert.equal(shown.executionStatus, 'RUNNING');
      assert.equal(shown.state.status, 'AwaitingUser');
      assert.equal(shown.state.user, DEMO_USER);
      assert.equal(shown.state.interviewId, verification.interviewId);
      assert.match(shown.summary, /Verify demo\.user@contoso\.com for incident/);
    }
    const text = await cli(['show', verification.incidentId]);
    assert.equal(text.code, 0, show(text));
    assert.match(text.stdout, /Status\s+AwaitingUser/);
    assert.match(text.stdout, new RegExp(`Interview\\s+${verification.interviewId}`));
    assert.ok(!text.stdout.includes(verification.verificationUrl), 'show never prints the link');

    // A wrong key is named as such (never blamed on the worker), and the key itself is not printed.
    const otherKey = randomBytes(32).toString('base64');
    for (const args of [
      ['show', verification.incidentId],
      ['resend', verification.incidentId],
    ]) {
      const wrongKey = await cli(args, { PAYLOAD_ENCRYPTION_KEY: otherKey });
      assert.equal(wrongKey.code, 1, `${args[0]}: ${show(wrongKey)}`);
      assert.match(
        wrongKey.stderr,
        /payload_key_mismatch: .*does not decrypt with this PAYLOAD_ENCRYPTION_KEY \(key id k1\)/,
        show(wrongKey),
      );
      assert.ok(!/worker polling/.test(wrongKey.stderr), `the worker is not blamed: ${show(wrongKey)}`);
      assert.ok(!wrongKey.stderr.includes(otherKey) && !wrongKey.stderr.includes(stack.env.PAYLOAD_ENCRYPTION_KEY), 'no key printed');
    }

    const unknown = await cli(['show', 'no-such-incident']);
    assert.equal(unknown.code, 1, show(unknown));
    assert.match(unknown.stderr, /no verification found for "no-such-incident"/);
    // An apostrophe is quoted into the query, not refused: the look-up runs and finds nothing.
    const quoted = await cli(['show', `it's-no-incident`]);
    assert.equal(quoted.code, 1, show(quoted));
    assert.match(quoted.stderr, /no verification found for "it's-no-incident"/);
    await verification.handle.terminate('test done');
  });

  it('resend reminds the user and prints the interview id and expiry, the link only with --show-link', async () => {
    const verification = await start();
    const resent = await cli(['resend', verification.incidentId]);
    assert.equal(resent.code, 0, show(resent));
    assert.match(resent.stdout, /Reminder requested by cli:\S+ for demo\.user@contoso\.com/);
    assert.match(resent.stdout, new RegExp(`Interview\\s+${verification.interviewId}`));
    assert.match(resent.stdout, /Link expires\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    assert.match(resent.stdout, /not shown.*--show-link/);
    assert.ok(!resent.stdout.includes(verification.verificationUrl), 'the link is not printed without --show-link');
    await eventually(
      async () => (comments(verification.incidentId).some((message) => message.includes('Reminder')) ? true : undefined),
      15_000,
      'the reminder comment',
    );

    const withLink = await json(['resend', verification.workflowId, '--show-link']);
    assert.equal(withLink.verificationUrl, verification.verificationUrl);
    assert.equal(withLink.interviewId, verification.interviewId);
    assert.equal(withLink.expiresAt, verification.expiresAt);
    assert.match(withLink.requestedBy, /^cli:/);
    const withoutLink = await json(['resend', verification.workflowId]);
    assert.equal(withoutLink.verificationUrl, undefined);
    await eventually(
      async () => ((await verification.handle.query(statusQuery)).remindersSent === 3 ? true : undefined),
      15_000,
      'three reminders',
    );
    await verification.handle.terminate('test done');
  });

  it('cancel stops a verification without touching the incident; a second cancel exits 1', async () => {
    const verification = await start();
    const cancelled = await cli(['cancel', verification.incidentId, '--reason', 'handled by phone']);
    assert.equal(cancelled.code, 0, show(cancelled));
    assert.match(cancelled.stdout, /Cancel requested by cli:\S+/);
    assert.match(cancelled.stdout, /Verification ended: Cancelled/);
    const outcome = await verification.handle.result();
    assert.equal(outcome.status, 'Cancelled');
    assert.equal(outcome.incidentAction, 'None');
    assert.match(outcome.reason, /^Stopped by cli:\S+: handled by phone$/);
    assert.equal(stack.simulator.sentinel.getIncident(verification.incidentId)!.properties.status, 'New');

    const again = await cli(['cancel', verification.incidentId]);
    assert.equal(again.code, 1, show(again));
    assert.match(again.stderr, /already finished \(COMPLETED, status Cancelled\)/);
    const resend = await cli(['resend', verification.workflowId]);
    assert.equal(resend.code, 1, show(resend));
    assert.match(resend.stderr, /already finished/);

    const finished = await json(['show', verification.incidentId]);
    assert.equal(finished.executionStatus, 'COMPLETED');
    assert.equal(finished.outcome.status, 'Cancelled');
  });

  it('approve closes a verification awaiting review; before that it exits 1 "not awaiting review"', async () => {
    const verification = await start();
    const early = await cli(['approve', verification.incidentId]);
    assert.equal(early.code, 1, show(early));
    assert.match(early.stderr, /not awaiting review: verification \S+ is AwaitingUser/);

    await stack.simulator.incode.completeSession(verification.interviewId, 'pending-review');
    await awaitingReview(verification.handle);
    const resend = await cli(['resend', verification.incidentId]);
    assert.equal(resend.code, 1, show(resend));
    assert.match(resend.stderr, /nothing to resend: .* is AwaitingReview/);

    const approved = await cli(['approve', verification.incidentId, '--note', 'called the user back on a known number']);
    assert.equal(approved.code, 0, show(approved));
    assert.match(approved.stdout, /Approved by cli:\S+/);
    assert.match(approved.stdout, /Verification ended: Verified \(incident Closed\)/);
    const outcome = await verification.handle.result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.confirmedBy, 'reviewer');
    assert.equal(stack.simulator.sentinel.getIncident(verification.incidentId)!.properties.status, 'Closed');
    // The close carries the audit in its classification comment.
    assert.match(
      String(stack.simulator.sentinel.getIncident(verification.incidentId)!.properties.classificationComment),
      /Manual review APPROVED by cli:/,
    );
    assert.match(
      String(stack.simulator.sentinel.getIncident(verification.incidentId)!.properties.classificationComment),
      /called the user back on a known number/,
    );

    const late = await cli(['reject', verification.incidentId]);
    assert.equal(late.code, 1, show(late));
    assert.match(late.stderr, /already finished/);
  });

  it('reject escalates a verification awaiting review', async () => {
    const verification = await start();
    await stack.simulator.incode.completeSession(verification.interviewId, 'pending-review');
    await awaitingReview(verification.handle);
    const rejected = await json(['reject', verification.workflowId, '--note', 'face did not match the badge photo']);
    assert.equal(rejected.decision, 'reject');
    assert.match(rejected.reviewer, /^cli:/);
    assert.equal(rejected.outcome.status, 'Failed');
    assert.equal(rejected.outcome.incidentAction, 'Escalated');
    const incident = stack.simulator.sentinel.getIncident(verification.incidentId)!;
    assert.equal(incident.properties.severity, 'High');
    assert.equal(incident.properties.status, 'Active');
    assert.match(comments(verification.incidentId).at(-1)!, /Manual review REJECTED by cli:/);
  });

  it('replay reports committed and encrypted histories compatible and a tampered one incompatible', async () => {
    const file = path.join(historiesDir, 'v1-verified-by-webhook.json');
    const compatible = await cli(['replay', file]);
    assert.equal(compatible.code, 0, show(compatible));
    assert.match(
      compatible.stdout,
      /^compatible: .*v1-verified-by-webhook\.json \(identityVerification record-v1-verified-by-webhook-\d+, \d+ events\)/,
    );

    const report = await json([
      'replay',
      path.join(historiesDir, 'v1-timed-out-after-unconfirmed-webhook.json'),
      '--workflow-id',
      'replay-check',
    ]);
    assert.equal(report.compatible, true);
    assert.equal(report.workflowId, 'replay-check');

    // The code schedules createVerificationSession first; a history that says otherwise is nondeterministic.
    const history = JSON.parse(readFileSync(file, 'utf8'));
    const scheduled = history.events.find((event: any) => event.activityTaskScheduledEventAttributes);
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
    const tampered = path.join(tmp, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(history));
    const incompatible = await cli(['replay', tampered]);
    assert.equal(incompatible.code, 1, show(incompatible));
    assert.match(incompatible.stdout, /^INCOMPATIBLE: /);
    assert.match(
      incompatible.stdout,
      /DeterminismViolationError: \[TMPRL1100\] Nondeterminism error: Activity type of scheduled event 'somethingElse'/,
    );

    // A history of this deployment, as `temporal workflow show --output json` or the Web UI's download writes it:
    // its payloads are encrypted, so replay needs the deployment's key, and says so when it has another.
    const recent = await start();
    assert.equal((await cli(['cancel', recent.workflowId])).code, 0);
    await recent.handle.result();
    const encryptedFile = path.join(tmp, 'encrypted.json');
    writeFileSync(encryptedFile, historyToJSON(await recent.handle.fetchHistory()));
    assert.match(readFileSync(encryptedFile, 'utf8'), /YmluYXJ5L2VuY3J5cHRlZA==/, 'binary/encrypted payloads');
    const encrypted = await json(['replay', encryptedFile]);
    assert.equal(encrypted.compatible, true, JSON.stringify(encrypted));
    assert.equal(encrypted.workflowId, recent.workflowId);
    const wrongKey = await cli(['replay', encryptedFile], { PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    assert.equal(wrongKey.code, 2, show(wrongKey));
    assert.match(wrongKey.stderr, /cannot decrypt the history's payloads with PAYLOAD_ENCRYPTION_KEY/);
    const noKey = await cli(['replay', encryptedFile], { PAYLOAD_ENCRYPTION_KEY: undefined });
    assert.equal(noKey.code, 2, show(noKey));
    assert.match(noKey.stderr, /encrypted payloads: set PAYLOAD_ENCRYPTION_KEY/);

    writeFileSync(path.join(tmp, 'not-history.json'), JSON.stringify({ hello: 'world' }));
    const notHistory = await cli(['replay', path.join(tmp, 'not-history.json')]);
    assert.equal(notHistory.code, 2, show(notHistory));
    assert.match(notHistory.stderr, /is not a workflow history/);
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalStack, type LocalStackWithoutWorker } from '../../tools/dev/local-stack';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, OTHER_USER, startTestStack, type TestStack } from '../helpers/stack';

const root = path.join(__dirname, '..', '..', '..');

/** One documented answer: `202 {status:"manual_review", ...}` → {status: 202, name: "manual_review"}; a bare `200` has no name. */
interface DocumentedAnswer {
  status: number;
  name?: string;
}

/** README's "Gateway API" section: the answers of each endpoint, and the error table (code → statuses). */
export function parseGatewayApi(readme: string): { endpoints: Map<string, DocumentedAnswer[]>; errors: Map<string, Set<number>> } {
  const section = readme.slice(readme.indexOf('## Gateway API'), readme.indexOf('## Configuration'));
  assert.ok(section.length > 100, 'README has a "Gateway API" section before "Configuration"');
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('|---'));
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
  const endpoints = new Map<string, DocumentedAnswer[]>();
  const errors = new Map<string, Set<number>>();
  for (const line of rows) {
    const [first = '', second = '', third = ''] = cells(line);
    const endpoint = /^`((?:GET|POST) \/[^`]*)`/.exec(first)?.[1];
    if (endpoint) {
      const answers: DocumentedAnswer[] = [];
      for (const match of third.matchAll(/`(\d{3})(?: (\{[^`]*\}|[a-z_]+))?`/g)) {
        const status = Number(match[1]);
        const detail = match[2];
        const name = detail?.startsWith('{')
          ? (/status:"(\w+)"|"error":"(\w+)"/.exec(detail)?.slice(1).find(Boolean) ?? undefined)
          : detail;
        answers.push({ status, ...(name ? { name } : {}) });
      }
      endpoints.set(endpoint, answers);
      continue;
    }
    if (!/^\d{3}( \/ \d{3})*$/.test(first)) continue;
    const statuses = first.split(' / ').map(Number);
    const codes = [...second.matchAll(/`([a-z_]+)`/g)].map((match) => match[1]);
    codes.forEach((code, index) => {
      const status = statuses.length === codes.length ? statuses[index] : statuses[0];
      if (!errors.has(code)) errors.set(code, new Set());
      errors.get(code)!.add(status);
    });
  }
  return { endpoints, errors };
}

/**
 * The README's Gateway API tables against the running gateway: every answer a scenario below gets must be the
 * documented one (an error code with its documented status; a success with the endpoint's documented status and
 * name), and every documented answer is produced here or by the named test that covers it.
 */
describe('README: the Gateway API tables match the gateway', () => {
  let stack: TestStack;
  const readme = parseGatewayApi(readFileSync(path.join(root, 'README.md'), 'utf8'));
  const observed: Array<{ endpoint: string; status: number; name?: string; scenario: string }> = [];

  before(async () => {
    // Low-severity incidents of a user Incode does not know go to manual review at once (202); others are escalated (422).
    const policyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'itdr-readme-api-')), 'policy.yaml');
    writeFileSync(
      policyFile,
      'rules:\n  - name: low severity unknown users are reviewed\n    when: { severities: [Low] }\n    set:\n      unknownUser: review\n',
    );
    stack = await startTestStack({ POLICY_FILE: policyFile, VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h', REVIEW_TIMEOUT: '1h' });
  });
  after(async () => {
    await stack?.stop();
  });

  /** Checks one answer against the README and records it. */
  function expectDocumented(endpoint: string, scenario: string, answer: { status: number; body: any }): void {
    const code: string | undefined = answer.body?.error?.code ?? answer.body?.error;
    const answers = readme.endpoints.get(endpoint);
    assert.ok(answers, `README documents ${endpoint}`);
    if (typeof code === 'string') {
      const documented =
        readme.errors.get(code)?.has(answer.status) || answers.some((entry) => entry.status === answer.status && entry.name === code);
      assert.ok(
        documented,
        `${scenario}: ${endpoint} answered ${answer.status} ${code}, which README does not document (${JSON.stringify(answer.body)})`,
      );
      observed.push({ endpoint, status: answer.status, name: code, scenario });
      return;
    }
    const name =
      typeof answer.body?.status === 'string' && answers.some((entry) => entry.name === answer.body.status)
        ? answer.body.status
        : undefined;
    const documented = answers.some((entry) => entry.status === answer.status && entry.name === name);
    assert.ok(
      documented,
      `${scenario}: ${endpoint} answered ${answer.status} ${answer.body?.status ?? ''}; README documents ${JSON.stringify(answers)}`,
    );
    observed.push({ endpoint, status: answer.status, name, scenario });
  }

  const seed = (accounts: string[], severity: 'Medium' | 'High' | 'Low' = 'Medium', workspaceName?: string) =>
    stack.simulator.sentinel.seedIncident({
      title: 'Suspicious sign-in',
      severity,
      accounts: accounts.map((upn) => ({ accountName: upn.split('@')[0], upnSuffix: upn.split('@')[1] })),
      ...(workspaceName ? { workspace: { workspaceName } } : {}),
    });

  /** Raw HTTP, for what fetch cannot send (a malformed request line, a huge header, an odd Expect). */
  function raw(request: string): Promise<{ status: number; body: any }> {
    const url = new URL(stack.gateway.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end(request));
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
        // The JSON body, also when it came chunked.
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        try {
          resolve({ status, body: JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)) });
        } catch {
          resolve({ status, body });
        }
      });
    });
  }

  it('answers every scenario as documented, and produces or names a test for every documented answer', async () => {
    const POST = 'POST /api/incidents';
    // Started, then failed: escalated, still open → "verification_completed" on a repeat.
    const failing = seed([DEMO_USER]);
    const started = await stack.post('/api/incidents', { incidentId: failing.name, userEmail: DEMO_USER });
    expectDocumented(POST, 'a new verification', started);
    assert.equal(started.status, 200);
    expectDocumented('GET /api/incidents/:incidentId', 'status of a waiting one', await stack.get(`/api/incidents/${failing.name}`));
    expectDocumented(
      'POST /api/incidents/:incidentId/review',
      'review while AwaitingUser',
      await stack.post(`/api/incidents/${failing.name}/review`, { decision: 'approve' }),
    );
    await stack.simulator.incode.completeSession(started.body.interviewId, 'failed');
    await eventually(
      async () => ((await stack.get(`/api/incidents/${failing.name}`)).body.running === false ? true : undefined),
      30_000,
      'the failed verification to end',
    );
    expectDocumented(
      POST,
      'repeat after an escalation',
      await stack.post('/api/incidents', { incidentId: failing.name, userEmail: DEMO_USER }),
    );
    expectDocumented(
      'POST /api/incidents/:incidentId/cancel',
      'cancel of a finished one',
      await stack.post(`/api/incidents/${failing.name}/cancel`, {}),
    );

    // Verified: the incident is closed → 409 on a repeat.
    const passing = seed([DEMO_USER]);
    const passed = await stack.post('/api/incidents', { incidentId: passing.name, userEmail: DEMO_USER });
    expectDocumented(POST, 'a new verification', passed);
    // The user confirms the activity ("This was me") before passing Incode's check, as a close needs.
    assert.equal((await answerConfirmationPage(passed.body.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(passed.body.interviewId, 'succeeded');
    await eventually(
      async () => ((await stack.get(`/api/incidents/${passing.name}`)).body.running === false ? true : undefined),
      30_000,
      'the verification to end',
    );
    assert.equal(stack.simulator.sentinel.getIncident(passing.name)?.properties.status, 'Closed');
    expectDocumented(POST, 'repeat after a close', await stack.post('/api/incidents', { incidentId: passing.name, userEmail: DEMO_USER }));

    // Manual review (Incode's reviewers), then a reviewer's decision; a cancel of a waiting one.
    const reviewed = seed([OTHER_USER]);
    const review = await stack.post('/api/incidents', { incidentId: reviewed.name, userEmail: OTHER_USER });
    assert.equal((await answerConfirmationPage(review.body.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(review.body.interviewId, 'pending-review');
    await eventually(
      async () => ((await stack.get(`/api/incidents/${reviewed.name}`)).body.status === 'AwaitingReview' ? true : undefined),
      30_000,
      'AwaitingReview',
    );
    expectDocumented(
      'POST /api/incidents/:incidentId/review',
      'a reviewer approves',
      await stack.post(`/api/incidents/${reviewed.name}/review`, { decision: 'approve' }),
    );
    const cancelled = seed([OTHER_USER]);
    expectDocumented(POST, 'a new verification', await stack.post('/api/incidents', { incidentId: cancelled.name, userEmail: OTHER_USER }));
    expectDocumented(
      'POST /api/incidents/:incidentId/cancel',
      'cancel of a waiting one',
      await stack.post(`/api/incidents/${cancelled.name}/cancel`, { reason: 'handled' }),
    );

    // An analyst closed one: Sentinel's update trigger stops its verification.
    const closedByAnalyst = seed([DEMO_USER]);
    expectDocumented(
      POST,
      'a new verification',
      await stack.post('/api/incidents', { incidentId: closedByAnalyst.name, userEmail: DEMO_USER }),
    );
    stack.simulator.sentinel.simulateAnalystEdit(closedByAnalyst.name, {
      status: 'Closed',
      classification: 'TruePositive',
      classificationReason: 'SuspiciousActivity',
    });
    expectDocumented(
      POST,
      'update trigger of a closed incident',
      await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(closedByAnalyst.name, 'Update')),
    );

    // Refusals.
    const unknownUser = seed(['nobody.known@contoso.com']);
    expectDocumented(
      POST,
      'a user Incode does not know',
      await stack.post('/api/incidents', { incidentId: unknownUser.name, userEmail: 'nobody.known@contoso.com' }),
    );
    const someoneElses = seed([DEMO_USER]);
    expectDocumented(
      POST,
      "a userEmail that is none of the incident's accounts",
      await stack.post('/api/incidents', { incidentId: someoneElses.name, userEmail: OTHER_USER }),
    );
    const reviewedAtOnce = seed(['nobody.known@contoso.com'], 'Low');
    expectDocumented(
      POST,
      'a user Incode does not know, reviewed by policy',
      await stack.post('/api/incidents', { incidentId: reviewedAtOnce.name, userEmail: 'nobody.known@contoso.com' }),
    );
    expectDocumented(
      POST,
      'no account',
      await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(seed([]).name, 'Create')),
    );
    const crowd = seed(Array.from({ length: 11 }, (_, index) => `user${index}@contoso.com`));
    expectDocumented(
      POST,
      'too many accounts',
      await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(crowd.name, 'Create')),
    );
    const elsewhere = seed([DEMO_USER], 'Medium', 'law-not-served');
    expectDocumented(
      POST,
      'another workspace',
      await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(elsewhere.name, 'Create')),
    );
    const othersIncident = seed([DEMO_USER]);
    expectDocumented(
      POST,
      "userEmail none of the incident's accounts",
      await stack.post('/api/incidents', { incidentId: othersIncident.name, userEmail: OTHER_USER }),
    );
    expectDocumented(
      POST,
      'no such incident',
      await stack.post('/api/incidents', { incidentId: 'no-such-incident', userEmail: DEMO_USER }),
    );
    expectDocumented(POST, 'missing userEmail', await stack.post('/api/incidents', { incidentId: 'x1' }));
    expectDocumented(POST, 'malformed JSON', await stack.post('/api/incidents', '{"incidentId":'));
    expectDocumented(POST, 'text/plain', await stack.post('/api/incidents', 'hello', { 'content-type': 'text/plain' }));
    expectDocumented(POST, 'body too large', await stack.post('/api/incidents', { incidentId: 'x'.repeat(70_000) }));
    expectDocumented(
      POST,
      'no credentials',
      await stack.post('/api/incidents', { incidentId: 'x1', userEmail: DEMO_USER }, { 'x-api-key': '' }),
    );
    const armDown = seed([DEMO_USER]);
    stack.simulator.faults.add({ service: 'arm', method: 'GET', pathIncludes: armDown.name, status: 403, times: 10 });
    expectDocumented(
      POST,
      'Sentinel refuses the read',
      await stack.post('/api/incidents', { incidentId: armDown.name, userEmail: DEMO_USER }),
    );
    stack.simulator.faults.clear('arm');
    expectDocumented('GET /api/incidents/:incidentId', 'status of no verification', await stack.get('/api/incidents/never-started'));
    expectDocumented('GET /api/incidents/:incidentId', 'malformed id', await stack.get('/api/incidents/bad%20id'));
    expectDocumented(
      'POST /api/webhooks/incode',
      'a webhook of no verification',
      await stack.webhook({ interviewId: '0123456789abcdef01234567', eventType: 'SESSION_SUCCEEDED' }),
    );
    expectDocumented('POST /api/webhooks/incode', 'not a webhook', await stack.webhook({ hello: 'world' }));
    expectDocumented(
      'POST /api/webhooks/incode',
      'a late webhook',
      await stack.webhook({ interviewId: passed.body.interviewId, eventType: 'SESSION_SUCCEEDED', loginHint: DEMO_USER }),
    );
    expectDocumented('GET /healthz', 'no such endpoint', await stack.get('/api/nothing-here'));
    expectDocumented(POST, 'malformed request line', await raw('GARBAGE\r\n\r\n'));
    expectDocumented(
      POST,
      'headers over 16 KB',
      await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\nConnection: close\r\n\r\n`),
    );
    expectDocumented(
      POST,
      'odd Expect',
      await raw('POST /api/incidents HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
    );

    // No worker on the task queue within the link deadline: 503 verification_pending.
    const idle: LocalStackWithoutWorker = await startLocalStack({
      temporalAddress: stack.env.TEMPORAL_ADDRESS,
      taskQueue: `nobody-polls-${Date.now()}`,
      directory: [DEMO_USER],
      worker: false,
      env: { GATEWAY_LINK_DEADLINE: '1s' },
      logLevel: 'silent',
    });
    try {
      const waiting = idle.simulator.sentinel.seedIncident({
        title: 'x',
        severity: 'Low',
        accounts: [{ accountName: 'demo.user', upnSuffix: 'contoso.com' }],
      });
      const response = await fetch(`${idle.gateway.url}/api/incidents`, {
        method: 'POST',
        headers: { 'x-api-key': idle.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ incidentId: waiting.name, userEmail: DEMO_USER }),
      });
      const body = (await response.json()) as { error: { workflowId?: string } };
      expectDocumented(POST, 'no worker', { status: response.status, body });
      if (body.error.workflowId) await idle.client.workflow.getHandle(body.error.workflowId).terminate('test done');
    } finally {
      await idle.stop();
    }

    // Every documented answer of these endpoints was produced above...
    const seen = (status: number, name?: string) => observed.some((entry) => entry.status === status && entry.name === name);
    for (const endpoint of [
      POST,
      'GET /api/incidents/:incidentId',
      'POST /api/incidents/:incidentId/cancel',
      'POST /api/incidents/:incidentId/review',
    ]) {
      for (const answer of readme.endpoints.get(endpoint)!) {
        if (answer.name && readme.errors.has(answer.name)) continue; // an error code: checked below
        assert.ok(seen(answer.status, answer.name), `${endpoint}: documented ${answer.status} ${answer.name ?? ''} not produced`);
      }
    }
    // ...and every documented error code too, or by the test named here, which asserts it.
    const coveredElsewhere: Record<string, string> = {
      rate_limited: 'test/e2e/rate-limit.test.ts',
      sentinel_busy: 'test/e2e/gateway-arm-budget.test.ts',
      subscription_rate_limited: 'test/e2e/subscription-intake.test.ts',
      guest_account: 'test/e2e/policies-and-graph.test.ts',
      payload_key_mismatch: 'test/e2e/dev-stack.test.ts',
    };
    // Not produced by any test, and why.
    const notReproduced: Record<string, string> = {
      request_timeout: 'a request that takes 60 s to arrive',
      temporarily_unavailable: 'Temporal restarting under a request (npm run chaos restarts it)',
      authentication_unavailable: "the tenant's JWKS unreachable while a token is checked",
      incode_session_failed: 'Incode failing past the activity retries within the link deadline',
      internal_error: 'anything unexpected',
    };
    for (const code of readme.errors.keys()) {
      if (observed.some((entry) => entry.name === code)) continue;
      const file = coveredElsewhere[code];
      if (file) {
        assert.ok(
          existsSync(path.join(root, file)) && readFileSync(path.join(root, file), 'utf8').includes(code),
          `${file} asserts ${code}`,
        );
        continue;
      }
      assert.ok(notReproduced[code], `README documents ${code}, which no scenario produced; produced: ${JSON.stringify(observed)}`);
    }
  });
});

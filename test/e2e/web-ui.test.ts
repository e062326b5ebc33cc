import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { stuckVerificationsQuery } from '../../src/cli/queries';
import { CHROMIUM, CHROMIUM_ARGS, missingChromium } from '../helpers/chromium';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

// Outside CI a missing Chromium skips this file with the reason printed; in CI it fails (see missingChromium).
const skipReason = missingChromium();

/**
 * An operator's view: the "stuck verifications" filter that README and `itdr-verify list --stuck` use, typed
 * into the Temporal Web UI's workflow list (as a URL), finds a verification waiting for its user.
 */
describe('Temporal Web UI: stuck verifications', { skip: skipReason }, () => {
  let stack: TestStack;
  let browser: Browser | undefined;

  before(async () => {
    assert.ok(
      process.env.TEMPORAL_UI_URL,
      'TEMPORAL_UI_URL is not set: run the tests with scripts/run-tests.mjs, which starts the dev server with its Web UI',
    );
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('lists a verification waiting for its user under the stuck-verifications query', async (t) => {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'New device sign-in',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const workflowId: string = started.body.workflowId;

    // "Stuck" for more than a second (the README's threshold is hours; the query is the same). The query's
    // StartTime bound is cut to whole seconds, so it is built afresh on every poll: one built once could stay
    // up to a second earlier than the verification's start and never match it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Visibility is eventually consistent: the UI is opened once the server lists the workflow.
    const query = await eventually(
      async () => {
        const candidate = stuckVerificationsQuery(1_000);
        for await (const execution of stack.client.workflow.list({ query: `${candidate} AND WorkflowId = "${workflowId}"` })) {
          assert.equal(execution.workflowId, workflowId);
          return candidate;
        }
        return undefined;
      },
      60_000,
      'the verification in visibility',
    ); // generous: the chaos test may load the machine meanwhile

    const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
    const ui = process.env.TEMPORAL_UI_URL!.replace(/\/$/, '');
    const url = `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
    const timings: Record<string, number> = {};
    let mark = Date.now();
    const lap = (name: string) => {
      timings[name] = Date.now() - mark;
      mark = Date.now();
    };

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    lap('launch');
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    lap('navigate');
    const row = page.getByText(workflowId, { exact: true }).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    lap('workflow listed');
    assert.equal((await row.textContent())?.trim(), workflowId);
    assert.ok(new URL(page.url()).searchParams.get('query')?.includes('VerificationStatus'), `the UI kept the query: ${page.url()}`);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'itdr-web-ui-'));
    const screenshot = path.join(dir, 'stuck-verifications.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    lap('screenshot');
    assert.ok(statSync(screenshot).size > 10_000, 'a screenshot with content');
    t.diagnostic(`screenshot ${screenshot}`);
    t.diagnostic(
      `timings (ms): ${Object.entries(timings)
        .map(([name, ms]) => `${name} ${ms}`)
        .join(', ')}`,
    );

    await stack.client.workflow.getHandle(workflowId).terminate('test done');
  });
});

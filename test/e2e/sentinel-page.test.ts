import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, missingChromium } from '../helpers/chromium';
import { eventually } from '../helpers/temporal';
import { startTestStack, type TestStack } from '../helpers/stack';

// Outside CI a missing Chromium skips this file with the reason printed; in CI it fails (see missingChromium).
const skipReason = missingChromium();

/**
 * A newcomer on the simulated Sentinel page, clicking only: seed an incident with several accounts and, for
 * each, follow its link to the confirmation page, answer "This was me" and then "Verified" (the incident closes);
 * seed one and close it as the analyst (its verification stops);
 * seed one and answer "Manual review" (a reviewer then decides).
 */
describe('the Sentinel page: every path by plain forms', { skip: skipReason }, () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    stack = await startTestStack({ VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h', REVIEW_TIMEOUT: '1h' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    // The simulator's pages are HTTPS with the locally generated test CA.
    page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const pageUrl = () => `${stack.simulator.urls.arm}/simulator/sentinel`;

  /** Seeds through the form (the playbook runs), and returns the new incident's id from the redirect's anchor. */
  async function seed(scenario: string, severity: string): Promise<string> {
    await page.goto(pageUrl(), { waitUntil: 'domcontentloaded' });
    await page.locator('#seed select[name="scenario"]').selectOption(scenario);
    await page.locator('#seed select[name="severity"]').selectOption(severity);
    assert.equal(await page.locator('#seed input[name="playbook"]').isChecked(), true, 'the playbook runs by default');
    await Promise.all([page.waitForURL(/#incident-/), page.locator('#seed button[type="submit"]').click()]);
    const incidentId = decodeURIComponent(new URL(page.url()).hash.replace('#incident-', ''));
    await page.locator(`#incident-${incidentId}`).waitFor();
    return incidentId;
  }
  const sessionsOf = (incidentId: string) =>
    stack.simulator.incode.listSessions().filter((session) => session.externalCustomerId === incidentId && session.state === 'pending');
  const incident = (incidentId: string) => stack.simulator.sentinel.getIncident(incidentId)!;

  it('several accounts, each answers "This was me" and then "Verified": the incident closes', async () => {
    const incidentId = await seed('several', 'High');
    assert.match((await page.locator(`#incident-${incidentId} .playbook`).textContent()) ?? '', /HTTP 200 verification_initiated/);
    const sessions = await eventually(
      async () => (sessionsOf(incidentId).length === 2 ? sessionsOf(incidentId) : undefined),
      20_000,
      'two sessions',
    );
    for (const session of sessions) {
      await page.goto(pageUrl(), { waitUntil: 'domcontentloaded' });
      // The session's confirmation page first: "This was me" leads on to Incode's (simulated) check.
      await Promise.all([page.waitForURL(/\/confirm\//), page.locator(`#session-${session.interviewId} a.confirmation-link`).click()]);
      assert.match((await page.locator('h1').textContent()) ?? '', /Was this you\?/);
      await Promise.all([
        page.waitForURL(new RegExp(`/verify/${session.interviewId}`)),
        page.locator('button', { hasText: 'This was me' }).click(),
      ]);
      await page.goto(pageUrl(), { waitUntil: 'domcontentloaded' });
      await Promise.all([
        page.waitForURL(/#sessions/),
        page.locator(`#session-${session.interviewId} button`, { hasText: 'Verified (the check passes)' }).click(),
      ]);
    }
    await eventually(async () => (incident(incidentId).properties.status === 'Closed' ? true : undefined), 30_000, 'the incident closed');
    await page.goto(pageUrl(), { waitUntil: 'domcontentloaded' });
    assert.equal((await page.locator(`#incident-${incidentId} .badge.st-closed`).textContent())?.trim(), 'Closed');
  });

  it('an analyst closes the incident from the page: its verification stops', async () => {
    const incidentId = await seed('one', 'Medium');
    const workflowId = (await stack.get(`/api/incidents/${incidentId}`)).body.workflowId as string;
    assert.ok(workflowId);
    await page.locator(`#incident-${incidentId} select[name="classification"]`).selectOption('FalsePositive');
    await Promise.all([
      page.waitForURL(/#incident-/),
      page.locator(`#incident-${incidentId} button`, { hasText: 'Close as analyst' }).click(),
    ]);
    assert.match((await page.locator(`#incident-${incidentId} .playbook`).textContent()) ?? '', /Update.*HTTP 200 verification_cancelled/);
    const outcome = await stack.client.workflow.getHandle(workflowId).result();
    assert.equal(outcome.status, 'Cancelled');
    assert.equal(incident(incidentId).properties.classification, 'FalsePositive', "the analyst's close stands");
  });

  it('the user answers "Manual review": the verification waits for a reviewer', async () => {
    const incidentId = await seed('one', 'Low');
    const [session] = await eventually(
      async () => (sessionsOf(incidentId).length === 1 ? sessionsOf(incidentId) : undefined),
      20_000,
      'the session',
    );
    await Promise.all([
      page.waitForURL(/#sessions/),
      page.locator(`#session-${session.interviewId} button`, { hasText: 'Manual review' }).click(),
    ]);
    const status = await eventually(
      async () => {
        const answer = await stack.get(`/api/incidents/${incidentId}`);
        return answer.body.status === 'AwaitingReview' ? answer.body : undefined;
      },
      30_000,
      'AwaitingReview',
    );
    assert.equal(status.running, true);
    await stack.client.workflow.getHandle(status.workflowId).terminate('test done');
  });
});

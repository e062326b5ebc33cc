import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { VERIFICATION_PAGE_TITLE } from '../../tools/simulator/verification-page';
import { CHROMIUM, CHROMIUM_ARGS, missingChromium } from '../helpers/chromium';
import { eventually } from '../helpers/temporal';
import { DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

// Outside CI a missing Chromium skips this file with the reason printed; in CI it fails (see missingChromium).
const skipReason = missingChromium();

/** The mailbox the links are sent from, as tools/dev/dev-stack.ts configures it (graph-email). */
const MAIL_FROM = 'security@contoso.com';

/** The activity the seeded incident carries, which the page must show the user. */
const ACTIVITY = {
  ip: '203.0.113.77',
  city: 'Lagos',
  country: 'Nigeria',
  host: 'LAPTOP-ATTACKER-7',
  application: 'Office 365 Exchange Online',
  alert: 'Atypical travel',
  clientApp: 'Mobile Apps and Desktop clients',
};

/**
 * The user's whole path in a real browser, as `npm run dev` offers it: the mail in the simulated Graph
 * mailbox, its link to the confirmation page, the activity shown there, an answer clicked, the (simulated)
 * Incode check, and Sentinel's incident afterwards.
 */
describe('the confirmation page in a browser, from the mailbox to Sentinel', { skip: skipReason }, () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'itdr-confirm-browser-'));
    const policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, `defaults:\n  linkDelivery: graph-email\n  mailFrom: ${MAIL_FROM}\n`);
    stack = await startTestStack({ POLICY_FILE: policyFile, VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' });
    stack.simulator.graph.addUser({ userPrincipalName: MAIL_FROM, givenName: 'Security', surname: 'Operations' });
    stack.simulator.graph.addUser({ userPrincipalName: DEMO_USER, givenName: 'Demo', surname: 'User' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    // The simulator's pages are HTTPS with the locally generated test CA.
    page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const incident = (incidentId: string) => stack.simulator.sentinel.getIncident(incidentId)!;
  const comments = (incidentId: string) => stack.simulator.sentinel.listComments(incidentId).map((comment) => comment.properties.message);

  /** Seeds an incident of the demo user with IP, location, device, application and an alert; the playbook calls the gateway. */
  async function seed(): Promise<{ incidentId: string; incidentNumber: number; title: string; verificationUrl: string }> {
    const title = `Unfamiliar sign-in properties ${Math.random().toString(36).slice(2, 8)}`;
    const seeded = stack.simulator.sentinel.seedIncident({
      title,
      severity: 'Medium',
      accounts: [{ accountName: 'demo.user', upnSuffix: 'contoso.com', friendlyName: 'Demo User' }],
      ipAddresses: [{ address: ACTIVITY.ip, city: ACTIVITY.city, countryName: ACTIVITY.country }],
      hosts: [{ hostName: ACTIVITY.host, osFamily: 'Windows' }],
      applications: [ACTIVITY.application],
      alerts: [{ displayName: ACTIVITY.alert, startTimeUtc: '2026-12-03T06:12:00.000Z', clientApp: ACTIVITY.clientApp }],
    });
    const response = await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(seeded.name, 'Create'));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return {
      incidentId: seeded.name,
      incidentNumber: seeded.properties.incidentNumber,
      title,
      verificationUrl: response.body.verificationUrl,
    };
  }

  /** Opens the simulated mailbox, finds this incident's mail and clicks its link, as the user would. */
  async function openMailAndClickLink(incidentNumber: number, verificationUrl: string): Promise<void> {
    await eventually(
      async () =>
        stack.simulator.graph
          .outbox()
          .find((mail) => mail.to.includes(DEMO_USER) && mail.subject.includes(`(security incident ${incidentNumber})`)),
      20_000,
      'the mail',
    );
    await page.goto(`${stack.simulator.urls.graph}/simulator/graph/mailbox`, { waitUntil: 'domcontentloaded' });
    const article = page.locator('article', { hasText: `(security incident ${incidentNumber})` }).first();
    const mail = page.frameLocator(`iframe[title="${await article.locator('h2').textContent()}"]`).first();
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/confirm/'), { timeout: 20_000 }),
      mail.locator('a', { hasText: 'Review this sign-in' }).click(),
    ]);
    assert.equal(page.url(), verificationUrl, 'the mail links to the page the caller was given');
  }

  async function assertActivityShown(title: string): Promise<void> {
    assert.equal(await page.locator('h1').textContent(), 'Was this you?');
    const activity = (await page.locator('section.activity').first().textContent()) ?? '';
    assert.ok(activity.includes(title), activity);
    for (const expected of [
      ACTIVITY.ip,
      `${ACTIVITY.city}, ${ACTIVITY.country}`,
      ACTIVITY.host,
      ACTIVITY.application,
      ACTIVITY.clientApp,
      ACTIVITY.alert,
      '2026-12-03 06:12 UTC',
    ]) {
      assert.ok(activity.includes(expected), `the page shows ${expected}: ${activity}`);
    }
  }

  it('"This was me", then Verified at Incode: Sentinel shows the incident Closed as FalsePositive', async () => {
    const seeded = await seed();
    await openMailAndClickLink(seeded.incidentNumber, seeded.verificationUrl);
    await assertActivityShown(seeded.title);

    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/verify/'), { timeout: 20_000 }),
      page.getByRole('button', { name: 'This was me' }).click(),
    ]);
    assert.equal(await page.title(), VERIFICATION_PAGE_TITLE, 'the answer leads on to the Incode check');
    // The answer is recorded by the verification now, and on the incident with the verdict.
    await eventually(
      async () => ((await stack.get(`/api/incidents/${seeded.incidentId}`)).body.answer?.answer === 'was-me' ? true : undefined),
      20_000,
      'the answer recorded',
    );
    assert.equal(incident(seeded.incidentId).properties.status, 'New', 'the answer alone closes nothing');

    await Promise.all([page.waitForURL(/\/complete/), page.getByRole('button', { name: 'Verified' }).click()]);
    assert.equal(await page.locator('h1').textContent(), 'Identity verified');
    await eventually(
      async () => (incident(seeded.incidentId).properties.status === 'Closed' ? true : undefined),
      30_000,
      'the incident closed',
    );
    assert.equal(incident(seeded.incidentId).properties.classification, 'FalsePositive');
    assert.match(String(incident(seeded.incidentId).properties.classificationComment), /answered "This was me"/);

    // As the analyst sees it, on the simulated Sentinel page.
    await page.goto(`${stack.simulator.urls.arm}/simulator/sentinel`, { waitUntil: 'domcontentloaded' });
    assert.equal((await page.locator(`#incident-${seeded.incidentId} .badge.st-closed`).textContent())?.trim(), 'Closed');
  });

  it(
    '"This wasn\'t me": the page says what happens next, Sentinel shows it escalated, ' + 'and a later Incode success changes nothing',
    async () => {
      const seeded = await seed();
      await openMailAndClickLink(seeded.incidentNumber, seeded.verificationUrl);
      await assertActivityShown(seeded.title);

      await Promise.all([page.waitForLoadState('domcontentloaded'), page.getByRole('button', { name: 'This wasn\u2019t me' }).click()]);
      assert.equal(await page.locator('h1').textContent(), 'Thank you: your security team has been told');
      assert.match((await page.locator('main').textContent()) ?? '', /treats it as a possible compromise of your account/);

      const escalated = await eventually(
        async () => {
          const current = incident(seeded.incidentId).properties;
          return current.severity === 'High' && comments(seeded.incidentId).some((message) => /denied the activity/.test(message))
            ? current
            : undefined;
        },
        30_000,
        'the incident escalated',
      );
      assert.equal(escalated.status, 'Active');
      assert.ok(
        escalated.labels.some((label) => label.labelName === 'identity-verification-failed'),
        JSON.stringify(escalated.labels),
      );

      // The user (or whoever holds the Incode link) then passes the check: a denial always wins.
      const session = stack.simulator.incode.listSessions().find((candidate) => candidate.externalCustomerId === seeded.incidentId)!;
      assert.ok(session, 'the Incode session of the verification');
      await page.goto(`${stack.simulator.urls.incodeApi}/verify/${encodeURIComponent(session.interviewId)}`, {
        waitUntil: 'domcontentloaded',
      });
      await Promise.all([page.waitForURL(/\/complete/), page.getByRole('button', { name: 'Verified' }).click()]);
      assert.match((await page.locator('main').textContent()) ?? '', /session webhook delivered/, 'the gateway received the success');
      const workflowId = (await stack.get(`/api/incidents/${seeded.incidentId}`)).body.workflowId as string;
      const outcome = await stack.client.workflow.getHandle(workflowId).result();
      assert.equal(outcome.status, 'Denied');
      const after = incident(seeded.incidentId).properties;
      assert.equal(after.status, 'Active');
      assert.equal(after.severity, 'High');
      assert.equal(after.classification, undefined, 'never classified');

      // Opened again, the page still says what happens next, and offers no answer any more.
      await page.goto(seeded.verificationUrl, { waitUntil: 'domcontentloaded' });
      assert.equal(await page.locator('h1').textContent(), 'Thank you: your security team has been told');
      assert.equal(await page.locator('button').count(), 0);
    },
  );

  it('a mail scanner GETs the link twice: nothing changes on the incident', async () => {
    const seeded = await seed();
    // The mail is sent and the "requested" comment written: from now on only the user's answer would change the incident.
    await eventually(
      async () => stack.simulator.graph.outbox().find((mail) => mail.subject.includes(`(security incident ${seeded.incidentNumber})`)),
      20_000,
      'the mail',
    );
    await eventually(
      async () => (comments(seeded.incidentId).some((message) => /Identity verification requested/.test(message)) ? true : undefined),
      20_000,
      'the requested comment',
    );
    const before = { properties: structuredClone(incident(seeded.incidentId).properties), comments: comments(seeded.incidentId) };
    const workflowId = (await stack.get(`/api/incidents/${seeded.incidentId}`)).body.workflowId as string;
    for (let visit = 0; visit < 2; visit++) {
      const response = await page.goto(seeded.verificationUrl, { waitUntil: 'domcontentloaded' });
      assert.equal(response?.status(), 200);
      await assertActivityShown(seeded.title);
    }
    const status = await stack.get(`/api/incidents/${seeded.incidentId}`);
    assert.equal(status.body.status, 'AwaitingUser', JSON.stringify(status.body));
    assert.equal(status.body.running, true);
    const afterVisits = incident(seeded.incidentId).properties;
    assert.deepEqual(
      {
        status: afterVisits.status,
        severity: afterVisits.severity,
        labels: afterVisits.labels,
        classification: afterVisits.classification,
        comments: comments(seeded.incidentId),
      },
      {
        status: before.properties.status,
        severity: before.properties.severity,
        labels: before.properties.labels,
        classification: before.properties.classification,
        comments: before.comments,
      },
    );
    await stack.client.workflow.getHandle(workflowId).terminate('test done');
  });
});

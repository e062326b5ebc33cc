import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RunningSimulator } from '../../tools/simulator';
import { startTestSimulator, startWebhookReceiver } from './helpers';

const USER = 'adele.vance@contoso.com';
const WEBHOOK_SECRET = 'x-incode-webhook-secret';

describe('simulated Incode', () => {
  let sim: RunningSimulator;

  before(async () => {
    sim = await startTestSimulator({
      incode: { directory: [USER, 'Alex.Wilber@Contoso.com'], webhookTimeoutMs: 400, webhookRetryDelayMs: 50 },
    });
  });

  after(() => sim.close());

  beforeEach(() => {
    sim.incode.dropWebhooks = false;
    sim.faults.clear();
  });

  async function token(clientSecret = sim.incode.config.clientSecret): Promise<Response> {
    return fetch(`${sim.urls.incodeAuth}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'openid',
        client_id: sim.incode.config.clientId,
        client_secret: clientSecret,
      }),
    });
  }

  async function accessToken(): Promise<string> {
    return ((await (await token()).json()) as { access_token: string }).access_token;
  }

  function api(
    path: string,
    init: { method?: string; bearer: string; apiKey?: string; apiVersion?: string | null; body?: unknown },
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${init.bearer}`,
      'x-api-key': init.apiKey ?? sim.incode.config.apiKey,
    };
    if (init.apiVersion !== null) headers['api-version'] = init.apiVersion ?? '1.0';
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${sim.urls.incodeApi}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  }

  async function newSession(bearer: string, extra: Record<string, unknown> = {}): Promise<{ interviewId: string; url: string }> {
    const response = await api('/omni/b2b/onboarding/request-new', {
      method: 'POST',
      bearer,
      body: { integrationReference: sim.incode.config.integrationReference, loginHint: USER, externalCustomerId: 'wf-123', ...extra },
    });
    assert.equal(response.status, 200);
    return (await response.json()) as { interviewId: string; url: string };
  }

  it('issues client-credentials tokens and counts the requests', async () => {
    const before = sim.incode.tokenRequestCount;
    const response = await token();
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(typeof body.access_token, 'string');

    const wrong = await token('not-the-secret');
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
    assert.equal(sim.incode.tokenRequestCount, before + 2);
  });

  it('answers 406 with an empty body without api-version: 1.0', async () => {
    const bearer = await accessToken();
    for (const apiVersion of [null, '2.0']) {
      const response = await api('/omni/b2b/onboarding/request-new', {
        method: 'POST',
        bearer,
        apiVersion,
        body: { integrationReference: sim.incode.config.integrationReference, loginHint: USER },
      });
      assert.equal(response.status, 406);
      assert.equal(await response.text(), '');
    }
  });

  it('answers 401 for a wrong API key or a bad token', async () => {
    const bearer = await accessToken();
    const body = { integrationReference: sim.incode.config.integrationReference, loginHint: USER };
    assert.equal((await api('/omni/b2b/onboarding/request-new', { method: 'POST', bearer, apiKey: 'wrong', body })).status, 401);
    assert.equal((await api('/omni/b2b/onboarding/request-new', { method: 'POST', bearer: 'forged', body })).status, 401);
    sim.incode.expireTokens();
    assert.equal((await api('/omni/get/score?id=x', { bearer })).status, 401);
  });

  it('answers 5504 for a user outside the directory, 400 for a wrong integration', async () => {
    const bearer = await accessToken();
    const unknown = await api('/omni/b2b/onboarding/request-new', {
      method: 'POST',
      bearer,
      body: { integrationReference: sim.incode.config.integrationReference, loginHint: 'mallory@contoso.com' },
    });
    assert.equal(unknown.status, 400);
    const body = (await unknown.json()) as Record<string, unknown>;
    assert.equal(body.status, 5504);
    assert.equal(body.error, 'Bad Request');
    assert.equal(body.message, 'Employee by login factor cannot be found');
    assert.equal(body.path, '/omni/b2b/onboarding/request-new');
    assert.equal(typeof body.timestamp, 'string');

    const wrongIntegration = await api('/omni/b2b/onboarding/request-new', {
      method: 'POST',
      bearer,
      body: { integrationReference: 'other', loginHint: USER },
    });
    assert.equal(wrongIntegration.status, 400);
    const noHint = await api('/omni/b2b/onboarding/request-new', {
      method: 'POST',
      bearer,
      body: { integrationReference: sim.incode.config.integrationReference },
    });
    assert.equal(noHint.status, 400);
  });

  it('creates a session (directory match is case-insensitive) and reads it back', async () => {
    const bearer = await accessToken();
    const before = Date.now();
    const created = await newSession(bearer, { loginHint: 'ALEX.WILBER@contoso.com', linkExpiryMinutes: 30 });
    assert.match(created.interviewId, /^[0-9a-f]{24}$/);
    assert.equal(created.url, `${sim.urls.incodeApi}/verify/${created.interviewId}`);
    const session = sim.incode.getSession(created.interviewId);
    assert.equal(session?.externalCustomerId, 'wf-123');
    const minutes = ((session?.expiresAt.getTime() ?? 0) - before) / 60_000;
    assert.ok(minutes > 29.9 && minutes <= 30.1, `expiry ${minutes} min`);

    const status = await api(`/omni/get/onboarding/status?id=${created.interviewId}`, { bearer });
    assert.deepEqual(await status.json(), { onboardingStatus: 'UNKNOWN' });
    const score = await api(`/omni/get/score?id=${created.interviewId}`, { bearer });
    assert.deepEqual(await score.json(), {
      overall: { status: 'UNKNOWN' },
      interviewId: created.interviewId,
      externalCustomerId: 'wf-123',
      loginHint: 'ALEX.WILBER@contoso.com',
    });
    const missing = await api('/omni/get/score?id=000000000000000000000000', { bearer });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { status: number }).status, 404);
  });

  it('serves the verification page and finishes the session from its form, sending the webhook', async () => {
    const receiver = await startWebhookReceiver();
    try {
      sim.setWebhookTarget(receiver.url, { [WEBHOOK_SECRET]: 's3cret' });
      const bearer = await accessToken();
      const created = await newSession(bearer);

      const page = await fetch(created.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const html = await page.text();
      assert.match(html, /<title>Incode identity verification \(simulator\)<\/title>/);
      assert.match(html, /a•••e@contoso\.com/);
      assert.ok(!html.includes(USER), 'the address is masked');
      assert.match(html, new RegExp(`action="/verify/${created.interviewId}/complete"`));
      assert.match(html, />Verified</);
      assert.match(html, />Failed</);

      const result = await fetch(`${created.url}/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'outcome=succeeded',
      });
      assert.equal(result.status, 200);
      assert.match(await result.text(), /Identity verified/);

      assert.equal(receiver.received.length, 1);
      const webhook = receiver.received[0];
      assert.equal(webhook?.headers[WEBHOOK_SECRET], 's3cret');
      assert.equal(webhook?.headers['content-type'], 'application/json');
      const payload = webhook?.body as Record<string, unknown>;
      assert.equal(payload.eventType, 'SESSION_SUCCEEDED');
      assert.equal(payload.interviewId, created.interviewId);
      assert.equal(payload.externalCustomerId, 'wf-123');
      assert.equal(payload.loginHint, USER);
      assert.ok(!Number.isNaN(Date.parse(String(payload.timestamp))));

      assert.deepEqual(await (await api(`/omni/get/onboarding/status?id=${created.interviewId}`, { bearer })).json(), {
        onboardingStatus: 'ONBOARDING_FINISHED',
      });
      const score = (await (await api(`/omni/get/score?id=${created.interviewId}`, { bearer })).json()) as { overall: { status: string } };
      assert.equal(score.overall.status, 'OK');

      const again = await fetch(created.url);
      assert.match(await again.text(), /already been completed/);
    } finally {
      await receiver.close();
    }
  });

  it('retries a webhook once after a 500, through the scripted complete route', async () => {
    const receiver = await startWebhookReceiver((index) => ({ status: index === 0 ? 500 : 200 }));
    try {
      sim.setWebhookTarget(receiver.url, {});
      const created = await newSession(await accessToken());
      const complete = (outcome: string) =>
        fetch(`${sim.urls.incodeApi}/simulator/incode/sessions/${created.interviewId}/complete`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ outcome }),
        });
      assert.equal((await complete('maybe')).status, 400);
      const response = await complete('failed');
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        interviewId: created.interviewId,
        outcome: 'failed',
        webhook: { delivered: true, attempts: 2, lastStatus: 200 },
      });
      assert.equal(receiver.received.length, 2);
      assert.equal((receiver.received[1]?.body as { eventType: string }).eventType, 'SESSION_FAILED');
      const deliveries = sim.incode.webhookDeliveries().filter((delivery) => delivery.interviewId === created.interviewId);
      assert.deepEqual(
        deliveries.map((delivery) => delivery.status),
        [500, 200],
      );
      assert.equal((await complete('failed')).status, 409);
      const unknown = await fetch(`${sim.urls.incodeApi}/simulator/incode/sessions/ffffffffffffffffffffffff/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"outcome":"succeeded"}',
      });
      assert.equal(unknown.status, 404);
    } finally {
      await receiver.close();
    }
  });

  it('gives up after two timed-out or failed attempts', async () => {
    const slow = await startWebhookReceiver(() => ({ status: 200, delayMs: 2000 }));
    try {
      sim.setWebhookTarget(slow.url, {});
      const created = await newSession(await accessToken());
      const result = await sim.incode.completeSession(created.interviewId, 'succeeded');
      assert.deepEqual(result.webhook, { delivered: false, attempts: 2, lastStatus: null });
      const attempts = sim.incode.webhookDeliveries().filter((delivery) => delivery.interviewId === created.interviewId);
      assert.match(attempts[0]?.error ?? '', /no answer within 400 ms/);
    } finally {
      await slow.close();
    }
    const failing = await startWebhookReceiver(() => ({ status: 503 }));
    try {
      sim.setWebhookTarget(failing.url, {});
      const created = await newSession(await accessToken());
      const result = await sim.incode.completeSession(created.interviewId, 'failed');
      assert.deepEqual(result.webhook, { delivered: false, attempts: 2, lastStatus: 503 });
      assert.equal(failing.received.length, 2);
    } finally {
      await failing.close();
    }
  });

  it('drops webhooks on request: only the read-back shows the result', async () => {
    const receiver = await startWebhookReceiver();
    try {
      sim.setWebhookTarget(receiver.url, {});
      sim.incode.dropWebhooks = true;
      const bearer = await accessToken();
      const created = await newSession(bearer);
      const result = await sim.incode.completeSession(created.interviewId, 'failed');
      assert.deepEqual(result.webhook, { delivered: false, attempts: 0, lastStatus: null });
      assert.equal(receiver.received.length, 0);
      const score = (await (await api(`/omni/get/score?id=${created.interviewId}`, { bearer })).json()) as { overall: { status: string } };
      assert.equal(score.overall.status, 'FAIL');
    } finally {
      await receiver.close();
    }
  });

  it('shows an expired link as expired and refuses to complete it', async () => {
    const created = await newSession(await accessToken());
    sim.incode.setSessionExpiry(created.interviewId, new Date(Date.now() - 1000));
    const page = await fetch(created.url);
    assert.equal(page.status, 410);
    assert.match(await page.text(), /has expired/);
    await assert.rejects(sim.incode.completeSession(created.interviewId, 'succeeded'), { kind: 'Expired' });
    assert.equal((await fetch(`${sim.urls.incodeApi}/verify/ffffffffffffffffffffffff`)).status, 404);
  });

  it('injects faults through the HTTP admin route, in the service error shape', async () => {
    const added = await fetch(`${sim.urls.incodeAuth}/simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 429, retryAfterSeconds: 7, times: 1 }),
    });
    assert.equal(added.status, 201);
    const throttled = await token();
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '7');
    assert.equal(((await throttled.json()) as { error: string }).error, 'too_many_requests');
    assert.equal((await token()).status, 200, 'the fault hit once');

    await fetch(`${sim.urls.incodeApi}/simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pathIncludes: 'request-new', status: 503, times: 5 }),
    });
    const bearer = await accessToken();
    const failed = await api('/omni/b2b/onboarding/request-new', { method: 'POST', bearer, body: {} });
    assert.equal(failed.status, 503);
    assert.equal(((await failed.json()) as { status: number; path: string }).path, '/omni/b2b/onboarding/request-new');
    assert.equal((await fetch(`${sim.urls.incodeApi}/simulator/faults`, { method: 'DELETE' })).status, 204);
    assert.equal(sim.faults.list().length, 0);
    await newSession(bearer);

    const invalid = await fetch(`${sim.urls.incodeApi}/simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 200, times: 0 }),
    });
    assert.equal(invalid.status, 400);
  });
});

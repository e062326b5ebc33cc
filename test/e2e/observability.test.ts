import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TokenCredential } from '@azure/identity';
import { loadGatewayConfig } from '../../src/config/gateway';
import { startTemporalDevServer, type TemporalDevServer } from '../../tools/dev/temporal-server';
import { startGateway, type RunningGateway } from '../../src/gateway/create-gateway';
import { createLogger } from '../../src/shared/logger';
import { verificationWorkflowId } from '../../src/shared/ids';
import { createTemporalClient } from '../../src/temporal/connection';
import { workerReadiness } from '../../src/worker/create-worker';
import { answerConfirmationPage, DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/temporal';

/**
 * Observability, end to end: the gateway's /metrics after a real verification (with injected Incode and
 * Key Vault faults), the worker's outcome / time-to-verify / API-error metrics and its /metrics, /healthz,
 * /readyz server, and readiness that really drops when Temporal or the worker goes away.
 */
describe('observability', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({}, { workerMetricsPort: 0 });
  });
  after(async () => {
    await stack?.stop();
  });

  const text = async (url: string) => {
    const response = await fetch(url);
    return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
  };
  /** The value of one series in Prometheus text, or undefined. */
  const sample = (metrics: string, series: string): number | undefined => {
    const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('counts a verification, its HTTP requests, webhook, outcome, time to verify, and the API errors on the way', async () => {
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    // The first Key Vault read is refused and the first Incode call fails: the activity retries and succeeds.
    stack.simulator.faults.add({ service: 'keyVault', status: 403, times: 1 });
    stack.simulator.faults.add({ service: 'incodeApi', status: 503, times: 1 });

    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    const done = await fetch(`${stack.simulator.urls.incodeApi}/simulator/incode/sessions/${started.body.interviewId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'succeeded' }),
    });
    assert.equal(done.status, 200);
    const workflowId = verificationWorkflowId(stack.simulator.sentinel.defaultWorkspace, incident.name);
    const outcome = await stack.client.workflow.getHandle(workflowId).result();
    assert.equal(outcome.status, 'Verified');

    // Hostile and stray traffic: unknown incident (Sentinel 404), forged webhook, unknown path.
    assert.equal((await stack.post('/api/incidents', { incidentId: 'no-such-incident', userEmail: DEMO_USER })).status, 404);
    assert.equal((await stack.webhook({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: incident.name }, 'x'.repeat(32))).status, 401);
    assert.equal((await stack.get('/no/such/path')).status, 404);

    const gateway = await text(`${stack.gateway.url}/metrics`);
    assert.equal(gateway.status, 200);
    assert.match(gateway.type, /^text\/plain/);
    const g = gateway.body;
    assert.equal(sample(g, 'itdr_verifications_started_total{source="simple",joined="false"}'), 1, g);
    assert.equal(sample(g, 'itdr_http_requests_total{method="POST",route="/api/incidents",status="200"}'), 1);
    assert.equal(sample(g, 'itdr_http_requests_total{method="POST",route="/api/incidents",status="404"}'), 1);
    assert.equal(sample(g, 'itdr_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.equal(sample(g, 'itdr_http_request_duration_seconds_count{method="POST",route="/api/incidents",status="200"}'), 1);
    assert.ok((sample(g, 'itdr_http_request_duration_seconds_sum{method="POST",route="/api/incidents",status="200"}') ?? 0) > 0);
    assert.ok((sample(g, 'itdr_webhook_events_total{outcome="signalled"}') ?? 0) >= 1, 'the simulator webhook woke the workflow');
    assert.equal(sample(g, 'itdr_webhook_events_total{outcome="unauthenticated"}'), 1);
    // The unknown incident: the gateway reads it, its entities and its alerts at once, and each answers 404.
    assert.equal(sample(g, 'itdr_api_errors_total{service="sentinel",code="404"}'), 3);
    assert.match(g, /^process_cpu_user_seconds_total /m, 'default process metrics');
    // No identifier of an incident, user or session ever becomes a label.
    assert.doesNotMatch(g, new RegExp(`${incident.name}|${DEMO_USER}|${started.body.interviewId}`));

    // The outcome is reported through the workflow interceptor's sink, just after the workflow completes.
    const w = await eventually(
      async () => {
        const metrics = await stack.workerMetrics.registry.metrics();
        return sample(metrics, 'itdr_verification_outcomes_total{status="Verified",incident_action="Closed"}') === 1 ? metrics : undefined;
      },
      10_000,
      'the Verified outcome in the worker metrics',
    );
    assert.equal(sample(w, 'itdr_time_to_verify_seconds_count{status="Verified"}'), 1);
    const seconds = sample(w, 'itdr_time_to_verify_seconds_sum{status="Verified"}') ?? -1;
    assert.ok(seconds > 0 && seconds < 120, `time to verify ${seconds} s`);
    assert.equal(sample(w, 'itdr_api_errors_total{service="incode",code="503"}'), 1, w);
    assert.equal(sample(w, 'itdr_api_errors_total{service="keyvault",code="403"}'), 1, w);
    assert.doesNotMatch(w, new RegExp(`${incident.name}|${DEMO_USER}|${started.body.interviewId}`));

    // The same registry on the worker's own HTTP server.
    const server = stack.workerMetricsServer!;
    const scraped = await text(`${server.url}/metrics`);
    assert.equal(scraped.status, 200);
    assert.equal(sample(scraped.body, 'itdr_verification_outcomes_total{status="Verified",incident_action="Closed"}'), 1);
    assert.equal((await text(`${server.url}/healthz`)).status, 200);
    const ready = await text(`${server.url}/readyz`);
    assert.equal(ready.status, 200, ready.body);
    assert.equal(JSON.parse(ready.body).workerState, 'RUNNING');
    assert.equal((await text(`${server.url}/other`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
  });

  it('gateway readiness follows Temporal: 200 while it answers, 503 once it is gone, liveness stays 200', async () => {
    let temporal: TemporalDevServer | undefined = await startTemporalDevServer({ headless: true });
    let gateway: RunningGateway | undefined;
    const { client, connection } = await createTemporalClient(
      loadGatewayConfig({ ...stack.env, TEMPORAL_ADDRESS: temporal.address }).temporal,
    );
    try {
      const config = loadGatewayConfig({ ...stack.env, TEMPORAL_ADDRESS: temporal.address, GATEWAY_PORT: '0' });
      const credential: TokenCredential = { getToken: async () => null };
      gateway = await startGateway({ config, client, connection, credential, logger: createLogger({ name: 'gateway', level: 'silent' }) });
      assert.equal((await text(`${gateway.url}/readyz`)).status, 200);

      await temporal.stop();
      temporal = undefined;
      const started = Date.now();
      const notReady = await text(`${gateway.url}/readyz`);
      assert.equal(notReady.status, 503, notReady.body);
      assert.equal(JSON.parse(notReady.body).error.code, 'temporal_unreachable');
      assert.ok(Date.now() - started < 10_000, 'the readiness check is bounded');
      assert.equal((await text(`${gateway.url}/healthz`)).status, 200);
    } finally {
      await gateway?.close();
      await connection.close().catch(() => undefined);
      await temporal?.stop();
    }
  });

  it('GATEWAY_METRICS_ENABLED=false keeps /metrics off the gateway', async () => {
    const config = loadGatewayConfig({ ...stack.env, GATEWAY_PORT: '0', GATEWAY_METRICS_ENABLED: 'false' });
    const credential: TokenCredential = { getToken: async () => null };
    const { client, connection } = await createTemporalClient(config.temporal);
    const gateway = await startGateway({
      config,
      client,
      connection,
      credential,
      logger: createLogger({ name: 'gateway', level: 'silent' }),
    });
    try {
      assert.equal((await text(`${gateway.url}/metrics`)).status, 404);
      assert.equal((await text(`${gateway.url}/readyz`)).status, 200);
    } finally {
      await gateway.close();
      await connection.close();
    }
  });

  it('worker readiness: 503 unless the worker is RUNNING', async () => {
    assert.deepEqual(workerReadiness({ getState: () => 'INITIALIZED' }), { ready: false, detail: { workerState: 'INITIALIZED' } });
    stack.worker.shutdown();
    const down = await eventually(
      async () => {
        const ready = await text(`${stack.workerMetricsServer!.url}/readyz`);
        return ready.status === 503 ? ready : undefined;
      },
      15_000,
      'worker /readyz to answer 503',
    );
    assert.notEqual(JSON.parse(down.body).workerState, 'RUNNING');
    assert.equal((await text(`${stack.workerMetricsServer!.url}/healthz`)).status, 200);
    await eventually(async () => stack.worker.getState() === 'STOPPED', 30_000, 'the worker to stop');
  });
});

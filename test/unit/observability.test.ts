import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../../src/config/gateway';
import { loadWorkerConfig } from '../../src/config/worker';
import { errorCodeOf } from '../../src/observability/api-errors';
import { createGatewayMetrics, createWorkerMetrics } from '../../src/observability/metrics';
import { IncodeClient } from '../../src/clients/incode-client';

const KEY = Buffer.alloc(32, 7).toString('base64');
const workerEnv = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.net',
  SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
};
const gatewayEnv = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
  SENTINEL_RESOURCE_GROUP: 'soc-rg',
  SENTINEL_WORKSPACE_NAME: 'soc-ws',
  GATEWAY_API_KEYS: 'sentinel-playbook=0123456789abcdef01234567',
  INCODE_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef',
};

describe('observability configuration', () => {
  it('defaults: worker metrics on 0.0.0.0:9464, SDK metrics and tracing off, gateway /metrics on', () => {
    const worker = loadWorkerConfig(workerEnv).observability;
    assert.equal(worker.metricsPort, 9464);
    assert.equal(worker.metricsHost, '0.0.0.0');
    assert.equal(worker.temporalMetricsBind, undefined);
    assert.deepEqual(worker.tracing, {
      enabled: false,
      serviceName: 'itdr-verify-worker',
      tracesEndpoint: 'http://localhost:4318/v1/traces',
    });
    const gateway = loadGatewayConfig(gatewayEnv).observability;
    assert.equal(gateway.metricsEnabled, true);
    assert.equal(gateway.tracing.serviceName, 'itdr-verify-gateway');
  });

  it('reads the OpenTelemetry variables and validates the bind addresses', () => {
    const worker = loadWorkerConfig({
      ...workerEnv,
      WORKER_METRICS_PORT: '0',
      TEMPORAL_METRICS_BIND: '0.0.0.0:9000',
      OTEL_TRACING_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_SERVICE_NAME: 'idv-worker',
    }).observability;
    assert.equal(worker.metricsPort, 0);
    assert.equal(worker.temporalMetricsBind, '0.0.0.0:9000');
    assert.deepEqual(worker.tracing, { enabled: true, serviceName: 'idv-worker', tracesEndpoint: 'http://collector:4318/v1/traces' });
    const specific = loadGatewayConfig({ ...gatewayEnv, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/custom' }).observability;
    assert.equal(specific.tracing.tracesEndpoint, 'https://otel.example/custom');
    assert.throws(() => loadWorkerConfig({ ...workerEnv, TEMPORAL_METRICS_BIND: '9000' }), /TEMPORAL_METRICS_BIND: must be host:port/);
    assert.throws(() => loadWorkerConfig({ ...workerEnv, WORKER_METRICS_PORT: '70000' }), /WORKER_METRICS_PORT/);
    assert.throws(() => loadWorkerConfig({ ...workerEnv, OTEL_TRACING_ENABLED: 'yes' }), /OTEL_TRACING_ENABLED/);
    assert.throws(
      () => loadGatewayConfig({ ...gatewayEnv, OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }),
      /OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/,
    );
    assert.equal(loadGatewayConfig({ ...gatewayEnv, GATEWAY_METRICS_ENABLED: 'false' }).observability.metricsEnabled, false);
  });
});

describe('metrics', () => {
  it('keeps outcome labels to known values', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    const started = new Date(Date.now() - 90_000);
    metrics.recordOutcome({ status: 'TimedOut', incidentAction: 'Escalated' }, started);
    metrics.recordOutcome({ status: 'alice@contoso.com', incidentAction: 'rm -rf' }, started);
    const text = await metrics.registry.metrics();
    assert.match(text, /^itdr_verification_outcomes_total\{status="TimedOut",incident_action="Escalated"\} 1$/m);
    assert.match(text, /^itdr_verification_outcomes_total\{status="Other",incident_action="Other"\} 1$/m);
    assert.match(text, /^itdr_time_to_verify_seconds_bucket\{le="60",status="TimedOut"\} 0$/m);
    assert.match(text, /^itdr_time_to_verify_seconds_bucket\{le="120",status="TimedOut"\} 1$/m);
    assert.doesNotMatch(text, /alice|rm -rf/);
  });

  it('gateway and worker registries are separate, so both fit in one process', async () => {
    const gateway = createGatewayMetrics({ defaultMetrics: false });
    const worker = createWorkerMetrics({ defaultMetrics: false });
    gateway.observeApiError('sentinel', '429');
    worker.observeApiError('incode', 'timeout');
    assert.match(await gateway.registry.metrics(), /itdr_api_errors_total\{service="sentinel",code="429"\} 1/);
    assert.doesNotMatch(await gateway.registry.metrics(), /service="incode"/);
    assert.match(await worker.registry.metrics(), /itdr_api_errors_total\{service="incode",code="timeout"\} 1/);
  });

  it('Incode calls report their failures by status, timeout or network error', async () => {
    const seen: string[] = [];
    const settings = {
      clientId: 'c',
      clientSecret: 's',
      apiKey: 'k',
      integrationReference: 'r',
      authUrl: 'https://auth.example',
      apiBaseUrl: 'https://api.example',
    };
    const source = { get: async () => settings, refresh: async () => settings };
    const answers: Array<() => Promise<Response>> = [
      async () => Response.json({ access_token: 't', expires_in: 3600 }),
      async () => new Response('{"message":"busy"}', { status: 503 }),
      async () => {
        throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
      },
      async () => {
        throw new TypeError('fetch failed');
      },
    ];
    const client = new IncodeClient(source, {
      timeoutMs: 5_000,
      fetch: async () => answers.shift()!(),
      onApiError: (service, code) => seen.push(`${service}:${code}`),
    });
    for (let i = 0; i < 3; i++) await assert.rejects(client.getSessionResult('iv-1'));
    assert.deepEqual(seen, ['incode:503', 'incode:timeout', 'incode:network']);
    assert.equal(errorCodeOf(Object.assign(new Error('x'), { statusCode: 409 })), '409');
    assert.equal(errorCodeOf(Object.assign(new Error('x'), { name: 'AbortError' })), 'timeout');
  });
});

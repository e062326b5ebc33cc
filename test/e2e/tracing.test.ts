import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verificationWorkflowId } from '../../src/shared/ids';
import { answerConfirmationPage, DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

/**
 * OTEL_TRACING_ENABLED=true: one trace from the gateway's request through the workflow to the activities,
 * exported over OTLP/HTTP (JSON) to a collector stand-in on loopback.
 */
describe('tracing (OpenTelemetry)', () => {
  let stack: TestStack | undefined;
  let collector: http.Server;
  const spans: ExportedSpan[] = [];

  before(async () => {
    collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          for (const resourceSpans of body.resourceSpans ?? []) {
            const service = (resourceSpans.resource?.attributes ?? []).find(
              (attribute: { key: string }) => attribute.key === 'service.name',
            )?.value?.stringValue;
            for (const scope of resourceSpans.scopeSpans ?? []) {
              for (const span of scope.spans ?? []) spans.push({ ...span, service });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    stack = await startTestStack({
      OTEL_TRACING_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'itdr-verify-test',
    });
  });
  after(async () => {
    await stack?.stop();
    collector?.close();
  });

  it('links the gateway request, the workflow and its activities in one trace', async () => {
    const current = stack!;
    const [accountName, upnSuffix] = DEMO_USER.split('@');
    const incident = current.simulator.sentinel.seedIncident({
      title: 'Impossible travel',
      severity: 'Medium',
      accounts: [{ accountName, upnSuffix }],
    });
    const started = await current.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    await fetch(`${current.simulator.urls.incodeApi}/simulator/incode/sessions/${started.body.interviewId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'succeeded' }),
    });
    const workflowId = verificationWorkflowId(current.simulator.sentinel.defaultWorkspace, incident.name);
    assert.equal((await current.client.workflow.getHandle(workflowId).result()).status, 'Verified');
    // Stopping the stack shuts the tracer provider down last, which flushes every buffered span.
    await current.stop();
    stack = undefined;

    const request = spans.find((span) => span.name === 'POST /api/incidents');
    assert.ok(request, `a server span for the request; got ${spans.map((span) => span.name).join(', ')}`);
    const trace = spans.filter((span) => span.traceId === request.traceId);
    const names = trace.map((span) => span.name);
    for (const expected of [
      /^UpdateWithStartWorkflow:verificationLink$/,
      /^HandleUpdate:verificationLink$/,
      /^RunWorkflow:identityVerification$/,
      /^StartActivity:createVerificationSession$/,
      /^RunActivity:createVerificationSession$/,
      /^RunActivity:closeIncident$/,
    ]) {
      assert.ok(
        names.some((name) => expected.test(name)),
        `${expected} in the request's trace; got ${names.join(', ')}`,
      );
    }
    assert.ok(trace.every((span) => span.service === 'itdr-verify-test'));
    // Every span of the trace hangs, directly or not, under the gateway's request span.
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    for (const span of trace) {
      let cursor: ExportedSpan | undefined = span;
      while (cursor?.parentSpanId) cursor = byId.get(cursor.parentSpanId);
      assert.equal(cursor?.spanId, request.spanId, `${span.name} is under the request span`);
    }
  });
});

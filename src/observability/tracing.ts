import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * OpenTelemetry tracing across gateway → workflow → activities, off unless OTEL_TRACING_ENABLED=true.
 *
 * The gateway's Temporal client carries the trace context in the headers of its calls
 * (OpenTelemetryWorkflowClientInterceptor); the worker continues it in the workflow (interceptor module
 * bundled into the workflow code; workflow spans leave the sandbox through the `exporter` sink) and in each
 * activity. Spans go to an OTLP/HTTP collector (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318;
 * OTEL_EXPORTER_OTLP_HEADERS is read by the exporter itself). The OpenTelemetry packages are loaded only
 * when tracing is on.
 */
export interface TracingConfig {
  enabled: boolean;
  serviceName: string;
  /** Full URL of the OTLP/HTTP traces endpoint (…/v1/traces). */
  tracesEndpoint: string;
}

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Flushes the spans still buffered and unregisters the global tracer provider. */
  shutdown(): Promise<void>;
}

let active: { tracing: Promise<Tracing>; users: number } | undefined;

/**
 * Registers a global tracer provider (with an AsyncLocalStorage context manager and the W3C propagator).
 * Global state: one per process. A second call (the local stack runs gateway and worker in one process)
 * shares the first provider, which is shut down when its last user shuts it down.
 * `spanProcessor` replaces the OTLP exporter (tests).
 */
export function startTracing(config: TracingConfig, options: { spanProcessor?: SpanProcessor } = {}): Promise<Tracing> {
  if (active) {
    active.users++;
    return active.tracing;
  }
  const started: { tracing: Promise<Tracing>; users: number } = { tracing: Promise.resolve(undefined as never), users: 1 };
  started.tracing = registerProvider(config, options.spanProcessor, (): boolean => active === started && --started.users === 0);
  active = started;
  started.tracing.catch(() => {
    if (active === started) active = undefined;
  });
  return started.tracing;
}

async function registerProvider(config: TracingConfig, processor: SpanProcessor | undefined, lastUser: () => boolean): Promise<Tracing> {
  const api = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { Resource } = await import('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  let spanProcessor = processor;
  if (!spanProcessor) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesEndpoint }));
  }
  const resource = new Resource({ 'service.name': config.serviceName });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  let stopped = false;
  return {
    resource,
    spanProcessor,
    async shutdown() {
      if (stopped || !lastUser()) return;
      stopped = true;
      active = undefined;
      await provider.shutdown();
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
    },
  };
}

/** The traces URL from the standard variables: the signal-specific one as is, the generic one + /v1/traces. */
export function tracesEndpointFrom(env: { OTEL_EXPORTER_OTLP_ENDPOINT?: string; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string }): string {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '');
  return `${base}/v1/traces`;
}

import { z } from 'zod';
import { tracesEndpointFrom, type TracingConfig } from '../observability/tracing';

/** LOG_LEVEL (both processes): pino's levels; logs are JSON lines. */
export const logShape = { LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') };

/** OpenTelemetry tracing (both processes); the variable names are OpenTelemetry's own. */
export const tracingShape = {
  OTEL_TRACING_ENABLED: z.enum(['true', 'false']).default('false'),
  OTEL_SERVICE_NAME: z.string().min(1).max(128).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
};

/** The worker's /metrics, /healthz, /readyz server, and the Temporal SDK's own Prometheus endpoint. */
export const workerObservabilityShape = {
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  TEMPORAL_METRICS_BIND: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9000')
    .optional(),
};

export const gatewayObservabilityShape = {
  GATEWAY_METRICS_ENABLED: z.enum(['true', 'false']).default('true'),
};

export interface WorkerObservabilityConfig {
  /** 0: no metrics server. */
  metricsPort: number;
  metricsHost: string;
  /** Where the Temporal SDK (core) serves its own Prometheus metrics; unset: not exported. */
  temporalMetricsBind?: string;
  tracing: TracingConfig;
}

export interface GatewayObservabilityConfig {
  /** Serve GET /metrics on the gateway's own port. */
  metricsEnabled: boolean;
  tracing: TracingConfig;
}

export function tracingFrom(env: z.infer<z.ZodObject<typeof tracingShape>>, defaultServiceName: string): TracingConfig {
  return {
    enabled: env.OTEL_TRACING_ENABLED === 'true',
    serviceName: env.OTEL_SERVICE_NAME ?? defaultServiceName,
    tracesEndpoint: tracesEndpointFrom(env),
  };
}

export function workerObservabilityFrom(
  env: z.infer<z.ZodObject<typeof workerObservabilityShape & typeof tracingShape>>,
): WorkerObservabilityConfig {
  return {
    metricsPort: env.WORKER_METRICS_PORT,
    metricsHost: env.WORKER_METRICS_HOST,
    temporalMetricsBind: env.TEMPORAL_METRICS_BIND,
    tracing: tracingFrom(env, 'itdr-verify-worker'),
  };
}

export function gatewayObservabilityFrom(
  env: z.infer<z.ZodObject<typeof gatewayObservabilityShape & typeof tracingShape>>,
): GatewayObservabilityConfig {
  return { metricsEnabled: env.GATEWAY_METRICS_ENABLED === 'true', tracing: tracingFrom(env, 'itdr-verify-gateway') };
}

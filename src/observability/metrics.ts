import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERIFICATION_STATUSES, type IncidentSource } from '../shared/types';
import type { ApiErrorObserver } from './api-errors';
import { createTiSyncMetrics, type TiSyncMetrics } from './ti-sync-metrics';

/**
 * Prometheus metrics of the gateway and the worker. Each process keeps its own registry (not prom-client's
 * global one), so the local stack and the tests can run a gateway and a worker in one process. Every label
 * has a small, fixed set of values: no incident id, user, URL or error message ever becomes a label.
 */

/** Outcomes of the Incode session webhook, as the gateway handled it. */
export type WebhookOutcome =
  'signalled' | 'acknowledged' | 'finished' | 'unknown' | 'unauthenticated' | 'invalid' | 'rate_limited' | 'error';

/** How long a verification may take, from the workflow's start to its decision: seconds to days. */
const TIME_TO_VERIFY_BUCKETS = [10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400, 172_800];
/** The gateway answers in milliseconds, except POST /api/incidents, which may wait up to GATEWAY_LINK_DEADLINE (20 s). */
const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

function apiErrorsCounter(registry: Registry): Counter<'service' | 'code'> {
  return new Counter({
    name: 'itdr_api_errors_total',
    help: 'Failed calls to Incode, Sentinel (ARM) and Key Vault, by HTTP status or error kind (network, timeout)',
    labelNames: ['service', 'code'] as const,
    registers: [registry],
  });
}

export interface GatewayMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  verificationsStarted: Counter<'source' | 'joined'>;
  webhookEvents: Counter<'outcome'>;
  apiErrors: Counter<'service' | 'code'>;
  observeApiError: ApiErrorObserver;
  recordStarted(source: IncidentSource, joined: boolean): void;
  recordWebhook(outcome: WebhookOutcome): void;
  /** An incident refused because its subscription sent more than its share (GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE). */
  recordIntakeRefused(subscriptionId: string): void;
}

export function createGatewayMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const verificationsStarted = new Counter({
    name: 'itdr_verifications_started_total',
    help:
      'Verifications the gateway started or joined and answered with a link or a reason (a repeated request for the same incident ' +
      'counts again)',
    labelNames: ['source', 'joined'] as const,
    registers: [registry],
  });
  const webhookEvents = new Counter({
    name: 'itdr_webhook_events_total',
    help:
      'Incode session webhooks by outcome: signalled (woke the workflow), acknowledged (no result event), finished (verification ' +
      'already over), unknown (no verification), unauthenticated, invalid, rate_limited, error',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const intakeRefused = new Counter({
    name: 'itdr_incidents_refused_total',
    help: 'Incidents refused with 429 because their subscription sent more than its share (the subscriptions are the allow-listed ones)',
    labelNames: ['subscription'] as const,
    registers: [registry],
  });
  const apiErrors = apiErrorsCounter(registry);
  return {
    registry,
    httpRequests: new Counter({
      name: 'itdr_http_requests_total',
      help: 'HTTP requests answered by the gateway, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'itdr_http_request_duration_seconds',
      help: 'Time the gateway took to answer, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers: [registry],
    }),
    verificationsStarted,
    webhookEvents,
    apiErrors,
    observeApiError: (service, code) => apiErrors.inc({ service, code }),
    recordStarted: (source, joined) => verificationsStarted.inc({ source, joined: String(joined) }),
    recordWebhook: (outcome) => webhookEvents.inc({ outcome }),
    recordIntakeRefused: (subscription) => intakeRefused.inc({ subscription }),
  };
}

/** What the workflow interceptor reports when a verification workflow ends (see worker/workflow-metrics-interceptor.ts). */
export interface WorkflowEnd {
  /** The workflow's final status (`Verified`, `Failed`, `TimedOut`, ...), or `WorkflowFailed` / `Cancelled`. */
  status: string;
  incidentAction?: string;
}

/** Label values are checked against known sets, so a new or odd value cannot grow the series without bound. */
const OUTCOME_STATUSES: ReadonlySet<string> = new Set([...VERIFICATION_STATUSES, 'WorkflowFailed', 'Cancelled']);
const INCIDENT_ACTIONS: ReadonlySet<string> = new Set(['Closed', 'Escalated', 'CommentedOnly', 'None']);

export interface WorkerMetrics {
  registry: Registry;
  outcomes: Counter<'status' | 'incident_action'>;
  timeToVerify: Histogram<'status'>;
  apiErrors: Counter<'service' | 'code'>;
  observeApiError: ApiErrorObserver;
  /** Days until each Key Vault secret expires (negative once expired), by secret name; set by checkSecretExpiry. */
  secretExpiryDays: Gauge<'secret'>;
  /** The threat-intelligence sync's runs, changes, skips, API calls and 429s. */
  tiSync: TiSyncMetrics;
  /** `startedAt`: when the workflow execution started (WorkflowInfo.startTime). */
  recordOutcome(end: WorkflowEnd, startedAt: Date, now?: number): void;
}

export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const outcomes = new Counter({
    name: 'itdr_verification_outcomes_total',
    help: 'Verifications that ended, by final status and what was done to the incident (Closed, Escalated, CommentedOnly, None)',
    labelNames: ['status', 'incident_action'] as const,
    registers: [registry],
  });
  const timeToVerify = new Histogram({
    name: 'itdr_time_to_verify_seconds',
    help: "Time from the verification workflow's start to its decision, by final status",
    labelNames: ['status'] as const,
    buckets: TIME_TO_VERIFY_BUCKETS,
    registers: [registry],
  });
  const apiErrors = apiErrorsCounter(registry);
  const secretExpiryDays = new Gauge({
    name: 'itdr_secret_expiry_days',
    help: "Days until each of Incode's Key Vault secrets expires (negative: expired); secrets without an expiry date are absent",
    labelNames: ['secret'] as const,
    registers: [registry],
  });
  return {
    registry,
    secretExpiryDays,
    tiSync: createTiSyncMetrics(registry),
    outcomes,
    timeToVerify,
    apiErrors,
    observeApiError: (service, code) => apiErrors.inc({ service, code }),
    recordOutcome(end, startedAt, now = Date.now()) {
      const status = OUTCOME_STATUSES.has(end.status) ? end.status : 'Other';
      const action = end.incidentAction === undefined ? 'None' : INCIDENT_ACTIONS.has(end.incidentAction) ? end.incidentAction : 'Other';
      outcomes.inc({ status, incident_action: action });
      timeToVerify.observe({ status }, Math.max(0, (now - startedAt.getTime()) / 1000));
    },
  };
}

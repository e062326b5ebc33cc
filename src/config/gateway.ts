import { z } from 'zod';
import { loadPolicyDocument, type PolicyDocument } from '../policy/policy-document';
import type { VerificationPolicy, WorkspaceRef } from '../shared/types';
import { azureFrom, azureShape, type AzureConfig } from './azure';
import { confirmationFrom, confirmationShape, type ConfirmationConfig } from './confirmation';
import {
  checkGatewayAuth,
  entraFrom,
  gatewayAuthShape,
  webhookFrom,
  type GatewayCaller,
  type GatewayEntraConfig,
  type GatewayWebhookConfig,
} from './gateway-auth';
import {
  gatewayObservabilityFrom,
  gatewayObservabilityShape,
  logShape,
  tracingShape,
  type GatewayObservabilityConfig,
} from './observability';
import { durationSchema, optionalDurationSchema, parseEnv } from './parse';
import { checkPolicy, policyFrom, policyShape } from './policy';
import { checkTemporal, temporalFrom, temporalShape, type TemporalConfig } from './temporal';
import { allowedWorkspacesSchema, servedWorkspaces, workspaceShape } from './workspaces';

/** The gateway's configuration: read once at start-up from the environment, validated, and frozen. */

export interface GatewayConfig {
  temporal: TemporalConfig;
  azure: AzureConfig;
  port: number;
  host: string;
  /** API-key callers; empty when only Entra ID tokens are accepted. */
  callers: GatewayCaller[];
  /** Entra ID bearer tokens; absent when only API keys are accepted. */
  entra?: GatewayEntraConfig;
  webhook: GatewayWebhookConfig;
  defaultWorkspace: WorkspaceRef;
  /** The default workspace first, then the other ones of SENTINEL_ALLOWED_WORKSPACES (MSSP), each once. */
  allowedWorkspaces: WorkspaceRef[];
  policy: VerificationPolicy;
  /** POLICY_FILE, validated: rules by incident severity and Entra group membership. */
  policyDocument?: PolicyDocument;
  linkDeadlineMs: number;
  /** GATEWAY_REPLICAS: how many gateways share the budgets below; each process keeps its share (budget / replicas). */
  replicas: number;
  /** This replica's share of the gateway's ARM budget (incident reads), per subscription: a token bucket held in this process. */
  armBudget: { perSecond: number; burst: number };
  /** Each subscription's share of new incidents, held whole by this replica (a token bucket per subscription, in this process). */
  subscriptionIntake: { perMinute: number; burst: number };
  /** SIGTERM: fail readiness, wait `drainDelayMs` (the load balancer stops sending), then finish in-flight requests within `timeoutMs`. */
  shutdown: { drainDelayMs: number; timeoutMs: number };
  bodyLimitBytes: number;
  /**
   * This replica's share of the requests per minute per authenticated caller (control endpoints) and per IP (webhook, failed
   * authentication).
   */
  rateLimitPerMinute: number;
  /** This replica's share of the authenticated webhooks per client IP and minute. */
  webhookRateLimitPerMinute: number;
  logLevel: string;
  /** GET /metrics, tracing. */
  observability: GatewayObservabilityConfig;
  /** The confirmation page. */
  confirmation: ConfirmationConfig;
}

const gatewaySchema = z
  .object({
    ...temporalShape,
    ...azureShape,
    ...workspaceShape,
    ...policyShape,
    ...logShape,
    ...gatewayAuthShape,
    GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    GATEWAY_HOST: z.string().default('0.0.0.0'),
    GATEWAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(6000),
    SENTINEL_ALLOWED_WORKSPACES: allowedWorkspacesSchema,
    GATEWAY_LINK_DEADLINE: durationSchema.default(20_000),
    // ARM's read bucket is 250, refilled at 25/s, per subscription and principal; the worker's Sentinel queue
    // reads at most 10/s, so the gateway keeps to the rest even when both share one identity.
    GATEWAY_ARM_REQUESTS_PER_SECOND: z.coerce.number().min(0.1).max(1000).default(15),
    GATEWAY_ARM_BURST: z.coerce.number().int().min(1).max(10_000).default(150),
    // New incidents per subscription (an MSSP's tenant), so one tenant's storm cannot take the shared CPU from
    // the others (docs/scaling.md). 20/min per replica is far above a tenant's usual rate and a small part of a
    // 2-core worker host (about 6 verdicts/s); 10 at once for a handful of incidents raised together.
    GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE: z.coerce.number().min(1).max(1_000_000).default(20),
    GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION: z.coerce.number().int().min(1).max(1_000_000).default(10),
    // Round-robin behind a load balancer, each replica sees 1/N of the traffic: its share of a budget is budget / N.
    GATEWAY_REPLICAS: z.coerce.number().int().min(1).max(1000).default(1),
    GATEWAY_DRAIN_DELAY: optionalDurationSchema.default(0),
    GATEWAY_SHUTDOWN_TIMEOUT: durationSchema.default(30_000),
    GATEWAY_BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(64 * 1024),
    POLICY_FILE: z.string().optional(),
    ...gatewayObservabilityShape,
    ...tracingShape,
    ...confirmationShape,
  })
  .superRefine(checkTemporal)
  .superRefine(checkGatewayAuth)
  .superRefine(checkPolicy);

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = parseEnv(gatewaySchema, env, 'gateway');
  const azure = azureFrom(parsed);
  const replicas = parsed.GATEWAY_REPLICAS;
  const defaultWorkspace: WorkspaceRef = {
    subscriptionId: parsed.SENTINEL_SUBSCRIPTION_ID,
    resourceGroup: parsed.SENTINEL_RESOURCE_GROUP,
    workspaceName: parsed.SENTINEL_WORKSPACE_NAME,
  };
  return Object.freeze({
    temporal: temporalFrom(parsed),
    azure,
    port: parsed.GATEWAY_PORT,
    host: parsed.GATEWAY_HOST,
    callers: parsed.GATEWAY_API_KEYS ?? [],
    entra: entraFrom(parsed, azure.cloud.authorityHost),
    webhook: webhookFrom(parsed),
    defaultWorkspace,
    allowedWorkspaces: servedWorkspaces(defaultWorkspace, parsed.SENTINEL_ALLOWED_WORKSPACES),
    policy: policyFrom(parsed),
    policyDocument: parsed.POLICY_FILE ? loadPolicyDocument(parsed.POLICY_FILE) : undefined,
    linkDeadlineMs: parsed.GATEWAY_LINK_DEADLINE,
    replicas,
    armBudget: {
      perSecond: parsed.GATEWAY_ARM_REQUESTS_PER_SECOND / replicas,
      burst: Math.max(1, Math.floor(parsed.GATEWAY_ARM_BURST / replicas)),
    },
    // Each replica holds the whole share, not 1/N of it: a tenant's few requests do not spread evenly over the
    // replicas (a kept-alive connection, or a fixed request pattern under round-robin, sends them all to one),
    // and 1/N would refuse a tenant within its share. The deployment admits up to N × the share.
    subscriptionIntake: {
      perMinute: parsed.GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE,
      burst: parsed.GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION,
    },
    shutdown: { drainDelayMs: parsed.GATEWAY_DRAIN_DELAY, timeoutMs: parsed.GATEWAY_SHUTDOWN_TIMEOUT },
    bodyLimitBytes: parsed.GATEWAY_BODY_LIMIT_BYTES,
    rateLimitPerMinute: Math.max(1, Math.ceil(parsed.GATEWAY_RATE_LIMIT_PER_MINUTE / replicas)),
    webhookRateLimitPerMinute: Math.max(1, Math.ceil(parsed.GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE / replicas)),
    logLevel: parsed.LOG_LEVEL,
    observability: gatewayObservabilityFrom(parsed),
    confirmation: confirmationFrom(parsed),
  });
}

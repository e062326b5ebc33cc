import { RestError } from '@azure/core-rest-pipeline';
import { BudgetExhaustedError } from '../clients/token-bucket';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { GatewayCaller, GatewayWebhookConfig } from '../config/gateway-auth';
import type { WorkspaceRef } from '../shared/types';
import { authenticateCaller, rejectUnauthenticated } from './auth';
import type { EntraTokenValidator } from './entra-auth';
import type { GatewayMetrics } from '../observability/metrics';
import { HttpError } from './http-error';
import { prepareVerification, type IntakeOptions } from './incident-intake';
import { httpObservability } from './observability';
import { IncidentRequestError, parseIncidentRequest } from './incident-request';
import { createRateLimits } from './rate-limit';
import { isTemporalTransient } from './temporal-errors';
import { CONFIRMATION_PATH, type ConfirmationLinks } from '../confirmation/confirmation-link';
import { confirmationRouter } from './confirmation-page';
import type { VerificationService } from './verification-service';
import { parseWebhook } from './webhook-event';
import { webhookAuthFailure, webhookTokenEndpoint, WebhookTokens } from './webhook-oauth';
import { isPayloadKeyMismatch, PAYLOAD_KEY_MISMATCH } from '../temporal/payload-codec';

export interface GatewayDependencies {
  verifications: VerificationService;
  intake: IntakeOptions;
  /** Signs the confirmation page's links and checks them when the page is opened. */
  confirmationLinks: ConfirmationLinks;
  callers: readonly GatewayCaller[];
  /** Entra ID bearer-token validation of control-endpoint callers; absent when only API keys are accepted. */
  bearer?: EntraTokenValidator;
  /** GATEWAY_RATE_LIMIT_PER_MINUTE (default 600). */
  rateLimitPerMinute?: number;
  /** Authenticated webhooks per client IP and minute (GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE). */
  webhookRateLimitPerMinute?: number;
  /** INCODE_WEBHOOK_AUTH and its settings: the shared-secret header and/or OAuth2 client credentials. */
  webhook: GatewayWebhookConfig;
  linkDeadlineMs: number;
  bodyLimitBytes: number;
  logger: Logger;
  /** Readiness: resolves when Temporal answers. */
  checkTemporal: () => Promise<void>;
  /** True once SIGTERM has started the drain: readiness fails and connections are not kept alive. */
  isDraining?: () => boolean;
  /** Request, start and webhook counters; `serveMetrics` also exposes them as GET /metrics. */
  metrics?: GatewayMetrics;
  serveMetrics?: boolean;
}

const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function createGatewayApp(deps: GatewayDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Express's fallback error page shows stack traces outside production: never serve it.
  app.set('env', 'production');
  app.use(helmet());
  app.use(httpObservability(deps.metrics));
  // Draining: every answer closes its connection, so a client's next request goes to another replica.
  app.use((_req, res, next) => {
    if (deps.isDraining?.()) res.set('connection', 'close');
    next();
  });
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      deps.logger.info(
        { method: req.method, path: req.route?.path ?? 'unmatched', status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        'request',
      );
    });
    next();
  });

  const json = express.json({ limit: deps.bodyLimitBytes, strict: true, type: () => true });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
    next();
  };
  const limits = createRateLimits(deps.rateLimitPerMinute ?? 600, deps.webhookRateLimitPerMinute ?? 6000);
  // Control endpoints: an Entra ID bearer token or an API key, then per-caller rate limiting; failed
  // authentications are counted (and refused past the budget) per client IP.
  const apiKey = express
    .Router()
    .use(authenticateCaller({ callers: deps.callers, bearer: deps.bearer, logger: deps.logger }), limits.authFailuresPerIp, rejectUnauthenticated, limits.perCaller);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const metrics = deps.serveMetrics ? deps.metrics : undefined;
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.set('content-type', metrics.registry.contentType).set('cache-control', 'no-store').send(await metrics.registry.metrics());
    });
  }

  // Liveness answers as long as the process serves HTTP: neither Temporal trouble nor a drain is a reason to restart it.
  app.get('/readyz', async (_req, res) => {
    if (deps.isDraining?.()) {
      res.status(503).json({ status: 'not_ready', error: { code: 'draining', message: 'Shutting down: finishing the requests in flight' } });
      return;
    }
    try {
      await deps.checkTemporal();
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'not_ready', error: { code: 'temporal_unreachable', message: 'Temporal does not answer' } });
    }
  });

  app.use(CONFIRMATION_PATH, confirmationRouter({ links: deps.confirmationLinks, verifications: deps.verifications, logger: deps.logger }));

  app.post('/api/incidents', apiKey, requireJson, json, async (req, res) => {
    let request;
    try {
      request = parseIncidentRequest(req.body);
    } catch (error) {
      if (error instanceof IncidentRequestError) throw new HttpError(400, 'invalid_body', error.message, { issues: error.issues });
      throw error;
    }
    let verification;
    try {
      verification = await prepareVerification(deps.intake, request, String(res.locals.caller));
    } catch (error) {
      // Sentinel's incident-update trigger for an incident an analyst closed: stop its verification.
      if (!(error instanceof HttpError) || error.code !== 'incident_closed') throw error;
      const workspace = request.workspace ?? deps.intake.defaultWorkspace;
      const cancel = { reason: 'The incident was closed in Sentinel', requestedBy: String(res.locals.caller) };
      const stopped = await deps.verifications.cancel(workspace, request.incidentId, cancel);
      if (stopped.kind !== 'accepted') throw error;
      res.status(200).json({ status: 'verification_cancelled', workflowId: stopped.workflowId });
      return;
    }
    const started = await deps.verifications.startOrJoin(verification, deps.linkDeadlineMs);
    if (started.kind === 'link-or-reason') deps.metrics?.recordStarted(request.source, Boolean(started.joined));
    if (started.kind === 'deadline') {
      throw new HttpError(
        503,
        'verification_pending',
        'The verification was started but its link is not ready yet; repeat the same request to get it',
        { workflowId: started.workflowId },
        { 'retry-after': '5' },
      );
    }
    if (started.kind === 'already-finished') {
      res.status(200).json({ status: 'verification_completed', workflowId: started.workflowId, outcome: started.state?.outcome });
      return;
    }
    const { result } = started;
    if (result.kind === 'link') {
      // The user confirms the activity on the gateway's page first: the caller gets its signed link, not Incode's.
      const page = result.confirmationPage && result.deadline ? Date.parse(result.deadline) : undefined;
      const pageLink = (workflowId: string, user: string) => deps.confirmationLinks.url({ workflowId, user, expiresAt: page! });
      const accounts = result.accounts?.map((account, index) =>
        page ? { ...account, verificationUrl: pageLink(`${started.workflowId}-account-${index + 1}`, account.user) } : account,
      );
      res.status(200).json({
        verificationUrl: page ? (accounts ? accounts[0].verificationUrl : pageLink(started.workflowId, verification.subject.email)) : result.verificationUrl,
        status: 'verification_initiated',
        workflowId: started.workflowId,
        interviewId: result.interviewId,
        expiresAt: result.expiresAt,
        ...(started.joined ? { joinedVerificationOf: 'a running verification of the same user' } : {}),
        ...(accounts ? { verifications: accounts } : {}),
        ...(page ? { confirmationPage: true } : {}),
      });
      return;
    }
    if (result.status === 'AwaitingReview') {
      res.status(202).json({ status: 'manual_review', workflowId: started.workflowId, reason: result.reason });
      return;
    }
    const status = result.status === 'UserNotFound' || result.status === 'GuestUser' ? 422 : 502;
    res.status(status).json({
      status: 'verification_not_started',
      workflowId: started.workflowId,
      error: {
        code:
          result.status === 'UserNotFound' ? 'user_not_in_incode_directory' : result.status === 'GuestUser' ? 'guest_account' : 'incode_session_failed',
        message: result.reason,
      },
      incident: 'escalated',
    });
  });

  app.get('/api/incidents/:incidentId', apiKey, async (req, res) => {
    const incidentId = String(req.params.incidentId);
    if (!INCIDENT_ID.test(incidentId)) throw new HttpError(400, 'invalid_incident_id', 'Malformed incident id');
    for (const workspace of deps.intake.allowedWorkspaces as WorkspaceRef[]) {
      const found = await deps.verifications.status(workspace, incidentId);
      if (found) {
        res.json({ workflowId: found.workflowId, running: found.running, ...found.state });
        return;
      }
    }
    throw new HttpError(404, 'unknown_incident', `No verification for incident ${incidentId}`);
  });

  const reviewBody = z.strictObject({ decision: z.enum(['approve', 'reject']), note: z.string().max(2000).optional() });
  const cancelBody = z.strictObject({ reason: z.string().min(1).max(500).optional() });
  const steer = (kind: 'cancel' | 'review') => async (req: Request, res: Response) => {
    const incidentId = String(req.params.incidentId);
    if (!INCIDENT_ID.test(incidentId)) throw new HttpError(400, 'invalid_incident_id', 'Malformed incident id');
    const caller = String(res.locals.caller);
    const parsed = (kind === 'review' ? reviewBody : cancelBody).safeParse(req.body ?? {});
    if (!parsed.success) {
      throw new HttpError(400, 'invalid_body', `Invalid ${kind} request`, {
        issues: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`),
      });
    }
    for (const workspace of deps.intake.allowedWorkspaces) {
      const result =
        kind === 'review'
          ? await deps.verifications.review(workspace, incidentId, { ...(parsed.data as z.infer<typeof reviewBody>), reviewer: caller })
          : await deps.verifications.cancel(workspace, incidentId, {
              reason: (parsed.data as z.infer<typeof cancelBody>).reason ?? 'Cancelled through the gateway',
              requestedBy: caller,
            });
      if (result.kind === 'unknown') continue;
      if (result.kind === 'accepted') {
        res.status(kind === 'review' ? 200 : 202).json({ status: kind === 'review' ? 'review_recorded' : 'cancellation_requested', workflowId: result.workflowId });
        return;
      }
      const why = result.kind === 'finished' ? 'the verification has already finished' : `the verification is ${result.state.status}, not awaiting review`;
      throw new HttpError(409, 'not_applicable', `Cannot ${kind}: ${why}`, { workflowId: result.workflowId });
    }
    throw new HttpError(404, 'unknown_incident', `No verification for incident ${incidentId}`);
  };
  app.post('/api/incidents/:incidentId/cancel', apiKey, requireJson, json, steer('cancel'));
  app.post('/api/incidents/:incidentId/review', apiKey, requireJson, json, steer('review'));

  // INCODE_WEBHOOK_AUTH=oauth2|both: the token URL given to Incode, and the bearer tokens it issues.
  const webhookOAuth2 = deps.webhook.oauth2;
  const webhookTokens = webhookOAuth2 && new WebhookTokens(webhookOAuth2.clientId, webhookOAuth2.clientSecret, webhookOAuth2.tokenTtlMs);
  if (webhookOAuth2 && webhookTokens) {
    app.post(
      '/api/webhooks/incode/token',
      limits.webhookTokenPerIp,
      ...webhookTokenEndpoint({ clientId: webhookOAuth2.clientId, clientSecret: webhookOAuth2.clientSecret, tokens: webhookTokens, logger: deps.logger }),
    );
  }

  // The webhook: authenticate, count and refuse failures per client IP, answer them, then the (larger) budget
  // of authenticated webhooks.
  const webhookFailure = webhookAuthFailure(deps.webhook, webhookTokens);
  app.post(
    '/api/webhooks/incode',
    async (req: Request, res: Response, next: NextFunction) => {
      res.locals.webhookAuthFailure = await webhookFailure(req);
      next();
    },
    limits.webhookAuthFailuresPerIp,
    (_req: Request, res: Response, next: NextFunction) => {
      if (res.locals.webhookAuthFailure) throw res.locals.webhookAuthFailure;
      next();
    },
    limits.webhooks,
    requireJson,
    json,
    async (req, res) => {
      const parsed = parseWebhook(req.body, new Date());
      if (!parsed.ok) throw new HttpError(400, 'invalid_webhook', 'Not an Incode session webhook', { issues: parsed.issues });
      const { event, wakesWorkflow } = parsed.value;
      const routed = await deps.verifications.routeEvent(event, { signal: wakesWorkflow });
      res.locals.webhookOutcome = routed.kind;
      if (routed.kind === 'unknown') {
        throw new HttpError(404, 'unknown_incident', 'No verification matches this webhook');
      }
      deps.logger.info(
        { eventType: event.eventType, interviewId: event.interviewId, workflowId: 'workflowId' in routed ? routed.workflowId : undefined, routed: routed.kind },
        'incode webhook',
      );
      // 200 with {"success": true} is what Incode expects; anything else makes it retry.
      res.json({ success: true, ...(routed.kind === 'finished' ? { note: 'verification already finished; event recorded, not applied' } : {}) });
    },
  );

  app.use((_req, _res) => {
    throw new HttpError(404, 'not_found', 'No such endpoint');
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) {
      if (error.headers) res.set(error.headers);
      res.status(error.status).json({ error: { code: error.code, message: error.message, ...error.details } });
      return;
    }
    const bodyError = error as { type?: string; status?: number };
    if (bodyError?.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'body_too_large', message: `Body exceeds ${deps.bodyLimitBytes} bytes` } });
      return;
    }
    if (bodyError?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'malformed_json', message: 'Body is not valid JSON' } });
      return;
    }
    if (bodyError?.status && bodyError.status >= 400 && bodyError.status < 500) {
      res.status(bodyError.status).json({ error: { code: 'bad_request', message: 'Bad request' } });
      return;
    }
    if (isPayloadKeyMismatch(error)) {
      // The history was written with another PAYLOAD_ENCRYPTION_KEY: a configuration error, not a transient one.
      deps.logger.error({ code: PAYLOAD_KEY_MISMATCH }, 'payload key mismatch');
      res.status(500).json({
        error: {
          code: PAYLOAD_KEY_MISMATCH,
          message: "The verification's data does not decrypt with this gateway's PAYLOAD_ENCRYPTION_KEY: it was written with another key; configure the key it was started with",
        },
      });
      return;
    }
    if (isTemporalTransient(error)) {
      // Temporal is restarting, or the workflow's task is failing right after a worker died: retry shortly.
      deps.logger.warn({ err: { name: (error as Error).name, message: (error as Error).message } }, 'temporal temporarily unavailable');
      res.set('retry-after', '5').status(503).json({ error: { code: 'temporarily_unavailable', message: 'Temporal is temporarily unavailable; repeat the request' } });
      return;
    }
    if (error instanceof BudgetExhaustedError) {
      // More alerts than ARM's read budget allows: the caller (a playbook) retries after Retry-After.
      const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      deps.logger.warn({ retryAfterSeconds: seconds }, 'ARM request budget spent');
      res.set('retry-after', String(seconds)).status(503).json({
        error: { code: 'sentinel_busy', message: `Too many incidents at once for ARM's request budget; retry after ${seconds} s`, retryAfterSeconds: seconds },
      });
      return;
    }
    if (error instanceof RestError) {
      // Sentinel (ARM) refused or failed while the gateway checked the incident.
      deps.logger.error({ statusCode: error.statusCode, code: error.code }, 'sentinel call failed');
      res.status(502).json({ error: { code: 'sentinel_unavailable', message: `Sentinel answered ${error.statusCode ?? 'nothing'} (${error.code ?? 'error'})` } });
      return;
    }
    deps.logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal_error', message: 'Internal error; see the gateway log' } });
  });

  return app;
}

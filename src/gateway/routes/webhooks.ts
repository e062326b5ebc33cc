import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { GatewayWebhookConfig } from '../../config/gateway-auth';
import { HttpError } from '../http-error';
import { WEBHOOK_ROUTE } from '../observability';
import type { GatewayRateLimits } from '../rate-limit';
import type { VerificationService } from '../verification-service';
import { parseWebhook } from '../webhook-event';
import { webhookAuthFailure, webhookTokenEndpoint, WebhookTokens } from '../webhook-oauth';

export interface WebhookRouteDependencies {
  verifications: VerificationService;
  /** INCODE_WEBHOOK_AUTH and its settings: the shared-secret header and/or OAuth2 client credentials. */
  webhook: GatewayWebhookConfig;
  limits: Pick<GatewayRateLimits, 'webhookTokenPerIp' | 'webhookAuthFailuresPerIp' | 'webhooks'>;
  /** The JSON content type and body. */
  jsonGuards: readonly RequestHandler[];
  logger: Logger;
}

/**
 * Incode's session webhook (POST /api/webhooks/incode) and, with INCODE_WEBHOOK_AUTH=oauth2|both, the token URL
 * given to Incode (POST /api/webhooks/incode/token). A webhook only wakes its verification up; the workflow
 * reads the result back from Incode.
 */
export function webhooksRouter(deps: WebhookRouteDependencies): Router {
  const router = express.Router();
  const oauth2 = deps.webhook.oauth2;
  const tokens = oauth2 && new WebhookTokens(oauth2.clientId, oauth2.clientSecret, oauth2.tokenTtlMs);
  if (oauth2 && tokens) {
    router.post(
      `${WEBHOOK_ROUTE}/token`,
      deps.limits.webhookTokenPerIp,
      ...webhookTokenEndpoint({ clientId: oauth2.clientId, clientSecret: oauth2.clientSecret, tokens, logger: deps.logger }),
    );
  }

  // Authenticate, count and refuse failures per client IP, answer them, then the (larger) budget of
  // authenticated webhooks.
  const authFailure = webhookAuthFailure(deps.webhook, tokens);
  router.post(
    WEBHOOK_ROUTE,
    async (req: Request, res: Response, next: NextFunction) => {
      res.locals.webhookAuthFailure = await authFailure(req);
      next();
    },
    deps.limits.webhookAuthFailuresPerIp,
    (_req: Request, res: Response, next: NextFunction) => {
      if (res.locals.webhookAuthFailure) throw res.locals.webhookAuthFailure;
      next();
    },
    deps.limits.webhooks,
    ...deps.jsonGuards,
    async (req, res) => {
      const parsed = parseWebhook(req.body, new Date());
      if (!parsed.ok) throw new HttpError(400, 'invalid_webhook', 'Not an Incode session webhook', { issues: parsed.issues });
      const { event, wakesWorkflow } = parsed.value;
      const routed = await deps.verifications.routeEvent(event, { signal: wakesWorkflow });
      res.locals.webhookOutcome = routed.kind;
      if (routed.kind === 'unknown') throw new HttpError(404, 'unknown_incident', 'No verification matches this webhook');
      deps.logger.info(
        {
          eventType: event.eventType,
          interviewId: event.interviewId,
          workflowId: 'workflowId' in routed ? routed.workflowId : undefined,
          routed: routed.kind,
        },
        'incode webhook',
      );
      // 200 with {"success": true} is what Incode expects; anything else makes it retry.
      res.json({
        success: true,
        ...(routed.kind === 'finished' ? { note: 'verification already finished; event recorded, not applied' } : {}),
      });
    },
  );
  return router;
}

import express from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { GatewayCaller, GatewayWebhookConfig } from '../config/gateway-auth';
import { CONFIRMATION_PATH, type ConfirmationLinks } from '../confirmation/confirmation-link';
import type { GatewayMetrics } from '../observability/metrics';
import { authenticateCaller, rejectUnauthenticated } from './auth';
import type { EntraTokenValidator } from './entra-auth';
import { errorMapper, notFound } from './error-mapper';
import type { IntakeOptions } from './incident-intake';
import { httpObservability } from './observability';
import { createRateLimits } from './rate-limit';
import { confirmationRouter } from './routes/confirmation';
import { healthRouter } from './routes/health';
import { incidentsRouter } from './routes/incidents';
import { operatorRouter } from './routes/operator';
import { jsonBody, requireJson } from './routes/request-guards';
import { webhooksRouter } from './routes/webhooks';
import type { VerificationService } from './verification-service';

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

/**
 * The gateway: the cross-cutting middleware, one router per concern (routes/), then the one error mapper.
 * Routes carry their full paths, so metrics and logs label requests by the same route patterns everywhere.
 */
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
        {
          method: req.method,
          path: (req.route as { path?: string } | undefined)?.path ?? 'unmatched',
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  });

  const json = [requireJson, jsonBody(deps.bodyLimitBytes)];
  const limits = createRateLimits(deps.rateLimitPerMinute ?? 600, deps.webhookRateLimitPerMinute ?? 6000);
  // Control endpoints: an Entra ID bearer token or an API key, then per-caller rate limiting; failed
  // authentications are counted (and refused past the budget) per client IP. One chain, so every control
  // endpoint draws on the same budgets.
  const controlAuth = express
    .Router()
    .use(
      authenticateCaller({ callers: deps.callers, bearer: deps.bearer, logger: deps.logger }),
      limits.authFailuresPerIp,
      rejectUnauthenticated,
      limits.perCaller,
    );

  app.use(CONFIRMATION_PATH, confirmationRouter({ links: deps.confirmationLinks, verifications: deps.verifications, logger: deps.logger }));
  // Express answers OPTIONS itself (200, `Allow: …`) at the end of a router in which a route's path matched. The
  // gateway serves no OPTIONS: past the confirmation page's router (which always answered it), it is a 404 like
  // any unknown endpoint, as when every route sat in one router that ended in the 404.
  app.use((req, res, next) => {
    if (req.method === 'OPTIONS') notFound(req, res);
    next();
  });
  app.use(
    healthRouter({ checkTemporal: deps.checkTemporal, isDraining: deps.isDraining, metrics: deps.serveMetrics ? deps.metrics : undefined }),
  );
  app.use(
    incidentsRouter({
      verifications: deps.verifications,
      intake: deps.intake,
      confirmationLinks: deps.confirmationLinks,
      linkDeadlineMs: deps.linkDeadlineMs,
      metrics: deps.metrics,
      guards: [controlAuth, ...json],
    }),
  );
  app.use(
    operatorRouter({
      verifications: deps.verifications,
      allowedWorkspaces: deps.intake.allowedWorkspaces,
      auth: [controlAuth],
      jsonGuards: [controlAuth, ...json],
    }),
  );
  app.use(webhooksRouter({ verifications: deps.verifications, webhook: deps.webhook, limits, jsonGuards: json, logger: deps.logger }));

  app.use(notFound);
  app.use(errorMapper({ logger: deps.logger, bodyLimitBytes: deps.bodyLimitBytes }));
  return app;
}

import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, adminErrorHandler } from './http';
import { IncodeSessionError, type IncodeStore, type SessionErrorKind } from './incode-store';

const STATUS_FOR: Record<SessionErrorKind, number> = { BadOutcome: 400, NotFound: 404, AlreadyFinished: 409, Expired: 409 };

const verifiedIdentitySchema = z.strictObject({
  firstName: z.string().min(1).max(200).optional(),
  lastName: z.string().min(1).max(200).optional(),
  birthDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
    .optional(),
});

const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).optional(),
  oauth2: z
    .strictObject({ tokenUrl: z.url({ protocol: /^https?$/ }), clientId: z.string().min(1), clientSecret: z.string().min(1) })
    .optional(),
});

/**
 * Scripted control of the simulated Incode (mounted under /simulator on the API server):
 * - POST /incode/sessions/ID/complete {"outcome":"succeeded"|"failed", "verifiedLoginHint"?, "verifiedIdentity"?:
 *   {"firstName","lastName","birthDate"}} finishes a session and sends its webhook
 * - GET /incode/sessions, POST /incode/directory {"email"},
 *   PUT /incode/webhook {"url","headers","oauth2"?:{"tokenUrl","clientId","clientSecret"}},
 *   PUT /incode/drop-webhooks {"drop": true|false}, GET /incode/webhook-deliveries
 */
export function incodeAdminRouter(store: IncodeStore): Router {
  const router = express.Router();
  router.use(express.json({ limit: JSON_LIMIT }));

  router.get('/incode/sessions', (_req, res) => {
    res.json({ value: store.listSessions().map((session) => ({ ...session, onboardingStatus: store.onboardingStatus(session) })) });
  });

  router.post('/incode/sessions/:interviewId/complete', async (req, res) => {
    const body = (req.body as Record<string, unknown> | undefined) ?? {};
    const verifiedLoginHint = typeof body.verifiedLoginHint === 'string' ? body.verifiedLoginHint : undefined;
    const identity = body.verifiedIdentity === undefined ? undefined : verifiedIdentitySchema.safeParse(body.verifiedIdentity);
    if (identity && !identity.success) return adminError(res, 400, 'BadRequest', `verifiedIdentity: ${z.prettifyError(identity.error)}`);
    try {
      res.json(
        await store.completeSession(req.params.interviewId ?? '', typeof body.outcome === 'string' ? body.outcome : '', {
          verifiedLoginHint,
          verifiedIdentity: identity?.data,
        }),
      );
    } catch (error) {
      if (!(error instanceof IncodeSessionError)) throw error;
      adminError(res, STATUS_FOR[error.kind], error.kind, error.message);
    }
  });

  router.post('/incode/directory', (req, res) => {
    const parsed = z.strictObject({ email: z.string().min(3).max(320) }).safeParse(req.body);
    if (!parsed.success) return adminError(res, 400, 'BadRequest', z.prettifyError(parsed.error));
    store.addDirectoryUser(parsed.data.email);
    res.status(204).end();
  });

  router.put('/incode/webhook', (req, res) => {
    const parsed = webhookSchema.safeParse(req.body);
    if (!parsed.success) return adminError(res, 400, 'BadRequest', z.prettifyError(parsed.error));
    store.webhookTarget = {
      url: parsed.data.url,
      headers: parsed.data.headers ?? {},
      ...(parsed.data.oauth2 ? { oauth2: parsed.data.oauth2 } : {}),
    };
    res.status(204).end();
  });

  router.put('/incode/drop-webhooks', (req, res) => {
    const parsed = z.strictObject({ drop: z.boolean() }).safeParse(req.body);
    if (!parsed.success) return adminError(res, 400, 'BadRequest', z.prettifyError(parsed.error));
    store.dropWebhooks = parsed.data.drop;
    res.status(204).end();
  });

  // Deliveries record status and timing only, never the headers (they carry the webhook's shared secret).
  router.get('/incode/webhook-deliveries', (_req, res) => {
    res.json({ value: store.webhookDeliveries() });
  });

  router.use(adminErrorHandler);
  return router;
}

function adminError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

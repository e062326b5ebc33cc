import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, queryParam, reasonPhrase, type ErrorBodyBuilder } from './http';
import { IncodeSessionError, type IncodeSession, type IncodeStore, type SessionErrorKind } from './incode-store';
import { PAGE_SECURITY_HEADERS, renderMessagePage, renderResultPage, renderVerificationPage } from './verification-page';

export const INCODE_USER_NOT_FOUND = 5504;

/** Spring Boot's default error body, which Incode's API answers with. `status` may be an Incode code (5504). */
export function springError(status: number, message: string, path: string, httpStatus = status): unknown {
  return { timestamp: new Date().toISOString(), status, error: reasonPhrase(httpStatus), message, path };
}

export const incodeApiErrorBody: ErrorBodyBuilder = (status, _code, message, req) => springError(status, message, req.path);

const linkMinutes = z.number().int().min(1).max(43_200);
const requestNewSchema = z.looseObject({
  integrationReference: z.string().optional(),
  loginHint: z.string().optional(),
  externalCustomerId: z.string().max(256).optional(),
  notification: z
    .looseObject({ type: z.enum(['EMAIL', 'SMS', 'EMAIL_AND_SMS']), email: z.string().optional(), phone: z.string().optional() })
    .optional(),
  // Integrations spell the link expiry either way.
  linkValidityInMinutes: linkMinutes.optional(),
  linkExpiryMinutes: linkMinutes.optional(),
});

/**
 * Incode's API host: B2B session creation, the Omni read-back routes, and the end-user verification page that
 * the session link opens.
 */
export function incodeApiRouter(store: IncodeStore, apiBaseUrl: () => string): Router {
  const router = express.Router();
  router.use('/omni', requireIncodeAuth(store));

  router.post('/omni/b2b/onboarding/request-new', express.json({ limit: JSON_LIMIT }), (req, res) => {
    const fail = (status: number, message: string, httpStatus = status) =>
      res.status(httpStatus).json(springError(status, message, req.path, httpStatus));
    if (!req.is('application/json') || typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      fail(400, 'The request body must be a JSON object.');
      return;
    }
    const parsed = requestNewSchema.safeParse(req.body);
    if (!parsed.success) {
      fail(400, `Invalid request: ${z.prettifyError(parsed.error).replace(/\s+/g, ' ')}`);
      return;
    }
    const body = parsed.data;
    if (body.integrationReference !== store.config.integrationReference) {
      fail(400, 'Integration not found for the given integrationReference');
      return;
    }
    const loginHint = body.loginHint?.trim();
    if (!loginHint) {
      fail(400, 'loginHint is required');
      return;
    }
    if (!store.hasDirectoryUser(loginHint)) {
      fail(INCODE_USER_NOT_FOUND, 'Employee by login factor cannot be found', 400);
      return;
    }
    const session = store.createSession({
      loginHint,
      externalCustomerId: body.externalCustomerId,
      notification: body.notification && {
        type: body.notification.type,
        email: body.notification.email,
        phone: body.notification.phone,
      },
      linkMinutes: body.linkValidityInMinutes ?? body.linkExpiryMinutes,
    });
    res.json({ interviewId: session.interviewId, url: `${apiBaseUrl()}/verify/${session.interviewId}` });
  });

  router.get('/omni/get/onboarding/status', (req, res) => {
    const session = sessionFromQuery(store, req, res);
    if (session) res.json({ onboardingStatus: store.onboardingStatus(session) });
  });

  router.get('/omni/get/score', (req, res) => {
    const session = sessionFromQuery(store, req, res);
    if (!session) return;
    res.json({
      overall: { status: store.scoreStatus(session) },
      interviewId: session.interviewId,
      ...(session.externalCustomerId !== undefined ? { externalCustomerId: session.externalCustomerId } : {}),
      loginHint: session.verifiedLoginHint ?? session.loginHint,
      // The document's data, when a test set it (field name assumed: see README).
      ...(session.verifiedIdentity ? { ocr: { ...session.verifiedIdentity } } : {}),
    });
  });

  router.get('/verify/:interviewId', (req, res) => {
    const session = store.getSession(req.params.interviewId ?? '');
    if (!session) {
      page(res, 404, renderMessagePage('Link not found', 'This verification link is not valid. Ask your security team for a new one.'));
    } else if (session.state !== 'pending') {
      page(res, 200, renderMessagePage('Already completed', 'This verification has already been completed. You can close this window.'));
    } else if (store.isExpired(session)) {
      page(res, 410, renderMessagePage('Link expired', 'This verification link has expired. Ask your security team for a new one.'));
    } else {
      page(res, 200, renderVerificationPage(session));
    }
  });

  router.post('/verify/:interviewId/complete', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const outcome = (req.body as Record<string, unknown> | undefined)?.outcome;
    try {
      const result = await store.completeSession(req.params.interviewId ?? '', typeof outcome === 'string' ? outcome : '');
      page(res, 200, renderResultPage(result));
    } catch (error) {
      if (!(error instanceof IncodeSessionError)) throw error;
      const [status, heading, message] = pageForError(error.kind);
      page(res, status, renderMessagePage(heading, message));
    }
  });

  return router;
}

/** Bearer token from /oauth2/token, the API key, then `api-version: 1.0` (anything else: a bare 406, as Incode does). */
function requireIncodeAuth(store: IncodeStore) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!store.apiKeyMatches(req.get('x-api-key'))) {
      res.status(401).json(springError(401, 'Invalid or missing x-api-key', req.originalUrl.split('?')[0] ?? req.path));
      return;
    }
    const token = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!token || !store.isLiveToken(token)) {
      res
        .status(401)
        .json(springError(401, 'Full authentication is required to access this resource', req.originalUrl.split('?')[0] ?? req.path));
      return;
    }
    if (req.get('api-version') !== '1.0') {
      res.status(406).end();
      return;
    }
    next();
  };
}

function sessionFromQuery(store: IncodeStore, req: Request, res: Response): IncodeSession | undefined {
  const path = req.originalUrl.split('?')[0] ?? req.path;
  const id = queryParam(req, 'id');
  if (!id) {
    res.status(400).json(springError(400, "Required request parameter 'id' is not present", path));
    return undefined;
  }
  const session = store.getSession(id);
  if (!session) res.status(404).json(springError(404, `Session not found: ${id.slice(0, 64)}`, path));
  return session;
}

function page(res: Response, status: number, html: string): void {
  res.status(status).set(PAGE_SECURITY_HEADERS).type('html').send(html);
}

function pageForError(kind: SessionErrorKind): [number, string, string] {
  switch (kind) {
    case 'BadOutcome':
      return [400, 'Unexpected answer', 'Choose "Verified" or "Failed".'];
    case 'NotFound':
      return [404, 'Link not found', 'This verification link is not valid. Ask your security team for a new one.'];
    case 'AlreadyFinished':
      return [409, 'Already completed', 'This verification has already been completed. You can close this window.'];
    case 'Expired':
      return [410, 'Link expired', 'This verification link has expired. Ask your security team for a new one.'];
  }
}

import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { ConfirmationLinks } from '../../confirmation/confirmation-link';
import { PAGE_CSP, pages, questionPage } from '../confirmation-html';
import type { VerificationService } from '../verification-service';

const TOKEN = /^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{43}$/;

/**
 * The confirmation page ("was this you?") at `GET /confirm/:token`, and its answer at `POST /confirm/:token`.
 * The signed token is the capability: bound to one verification and one user, expiring with the
 * verification's deadline. A GET never decides (mail scanners and link previews open every link); only the
 * POST of one of the page's forms does, and only with the page's per-form nonce and no foreign Origin.
 */
export function confirmationRouter(deps: { links: ConfirmationLinks; verifications: VerificationService; logger: Logger }): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set({
      'content-security-policy': PAGE_CSP,
      'cache-control': 'no-store',
      // Not no-referrer: under it browsers send `Origin: null` with the page's own form POST, which the CSRF
      // check below must refuse. same-origin still keeps the link from every other site (Incode included).
      'referrer-policy': 'same-origin',
      'x-robots-tag': 'noindex, nofollow',
    });
    next();
  });
  const send = (res: Response, status: number, html: string) => res.status(status).type('html').send(html);

  /** The token's claims and the verification's state, or the page that says why there is nothing to do. */
  const load = async (req: Request, res: Response) => {
    const token = String(req.params.token ?? '');
    const check = TOKEN.test(token) ? deps.links.verify(token) : ({ ok: false, reason: 'invalid' } as const);
    if (!check.ok) {
      send(res, check.reason === 'expired' ? 410 : 404, check.reason === 'expired' ? pages.expired() : pages.invalid());
      return undefined;
    }
    const found = await deps.verifications.pageState(check.claims.workflowId);
    if (!found || found.state.user.toLowerCase() !== check.claims.user || !found.state.confirmationPage) {
      send(res, 404, pages.invalid());
      return undefined;
    }
    return { token, claims: check.claims, ...found };
  };

  router.get('/:token', async (req, res) => {
    const loaded = await load(req, res);
    if (!loaded) return;
    const { state, running } = loaded;
    if (state.answer?.answer === 'wasnt-me') return void send(res, 200, pages.denied());
    if (!running || state.outcome) return void send(res, 200, pages.decided());
    send(
      res,
      200,
      questionPage({
        activities: state.activities ?? [],
        action: `${req.baseUrl}/${loaded.token}`,
        nonce: deps.links.formNonce(loaded.token),
        answeredWasMe: state.answer?.answer === 'was-me',
      }),
    );
  });

  router.post('/:token', express.urlencoded({ extended: false, limit: 2048, parameterLimit: 5 }), async (req, res) => {
    const loaded = await load(req, res);
    if (!loaded) return;
    // CSRF: a form posted from another site carries its Origin (or Sec-Fetch-Site), and lacks the page's nonce.
    const origin = req.get('origin');
    const crossSite = (origin !== undefined && origin !== new URL(deps.links.baseUrl).origin) || req.get('sec-fetch-site') === 'cross-site';
    const body = (req.body ?? {}) as Record<string, unknown>;
    const answer = body.answer === 'was-me' || body.answer === 'wasnt-me' ? body.answer : undefined;
    if (crossSite || !deps.links.nonceMatches(loaded.token, body.nonce) || !answer) return void send(res, 403, pages.refused());
    if (!loaded.running || loaded.state.outcome) return void send(res, 409, pages.decided());
    const result = await deps.verifications.answer(loaded.claims.workflowId, {
      answer,
      user: loaded.claims.user,
      answeredAt: new Date().toISOString(),
      clientIp: req.socket.remoteAddress ?? 'unknown',
      userAgent: (req.get('user-agent') ?? '').slice(0, 512),
    });
    deps.logger.info({ workflowId: loaded.claims.workflowId, answer, outcome: result.kind }, 'confirmation page answer');
    if (result.kind === 'continue') {
      res.redirect(303, result.verificationUrl);
      return;
    }
    if (result.kind === 'recorded') return void send(res, 200, pages.denied());
    send(res, 409, loaded.state.answer?.answer === 'wasnt-me' ? pages.denied() : pages.decided());
  });
  return router;
}

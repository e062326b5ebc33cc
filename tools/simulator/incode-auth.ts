import express, { type Request, type Router } from 'express';
import { decodeSegment, type ErrorBodyBuilder } from './http';
import type { IncodeStore } from './incode-store';

/** OAuth2 error shape, as the token endpoint answers. */
export const incodeAuthErrorBody: ErrorBodyBuilder = (_status, code, message) => ({ error: oauthCode(code), error_description: message });

function oauthCode(code: string): string {
  // Faults and generic failures come with HTTP-ish codes; OAuth2 clients expect snake_case ones.
  return code.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Incode's token endpoint: `POST /oauth2/token`, form-encoded client credentials (client_secret_post, the way
 * Incode documents it; HTTP Basic is accepted too, as OAuth2 servers do).
 */
export function incodeAuthRouter(store: IncodeStore): Router {
  const router = express.Router();
  router.post('/oauth2/token', express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
    store.tokenRequestCount += 1;
    res.set('Cache-Control', 'no-store');
    if (!req.is('application/x-www-form-urlencoded')) {
      res.status(400).json({ error: 'invalid_request', error_description: 'The body must be application/x-www-form-urlencoded.' });
      return;
    }
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (form.grant_type !== 'client_credentials') {
      res.status(400).json({ error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported.' });
      return;
    }
    const { clientId, clientSecret } = clientCredentials(req, form);
    if (!store.clientMatches(clientId, clientSecret)) {
      res.status(401).json({ error: 'invalid_client', error_description: 'Bad client credentials' });
      return;
    }
    const { accessToken, expiresIn } = store.issueToken();
    res.json({ access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', scope: 'openid' });
  });
  return router;
}

function clientCredentials(req: Request, form: Record<string, unknown>): { clientId?: string; clientSecret?: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      return { clientId: decodeSegment(decoded.slice(0, colon)), clientSecret: decodeSegment(decoded.slice(colon + 1)) };
    }
  }
  return {
    clientId: typeof form.client_id === 'string' ? form.client_id : undefined,
    clientSecret: typeof form.client_secret === 'string' ? form.client_secret : undefined,
  };
}

import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, adminErrorHandler, queryParam, type ErrorBodyBuilder } from './http';
import type { AzureTokenStore, TokenCheck } from './identity';
import { insufficientPrivileges, notFound, type GraphOperation, type GraphStore, type GraphUser } from './graph-store';

/**
 * Microsoft Graph v1.0, the parts itdr-verify calls: a user (`$select`, birthday only when selected),
 * `transitiveMemberOf` (cast to groups or directory roles, paged with @odata.nextLink), `revokeSignInSessions`,
 * `PATCH` accountEnabled, and `sendMail` (202, recorded in the store's outbox). Every request needs a token from
 * the shared AzureTokenStore (managed identity or Entra) for this server's URL or https://graph.microsoft.com;
 * each operation needs one of its application permissions (GraphStore.PERMISSIONS_FOR), else Graph's 403.
 */

/** Graph's error shape. */
export function graphError(code: string, message: string): Record<string, unknown> {
  return {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID(), 'client-request-id': randomUUID() },
    },
  };
}

/** For faults and unknown routes. */
export const graphErrorBody: ErrorBodyBuilder = (_status, code, message) => graphError(code, message);

export interface GraphAuth {
  /** Audiences accepted, normalized (see normalizeResource). */
  audiences: () => string[];
  /** This server's URL, for @odata.nextLink and @odata.context. */
  baseUrl: () => string;
}

/** The properties GET /users/{id} returns without $select. */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const USER_PROPERTIES = new Set([
  ...DEFAULT_USER_PROPERTIES,
  'accountEnabled',
  'birthday',
  'employeeId',
  'userType',
  'signInSessionsValidFromDateTime',
]);
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 999;

const sendMailSchema = z.looseObject({
  message: z.looseObject({
    subject: z.string().max(255).optional(),
    body: z.looseObject({ contentType: z.string().optional(), content: z.string().max(4_000_000) }).optional(),
    toRecipients: z
      .array(z.looseObject({ emailAddress: z.looseObject({ address: z.string().min(3).max(320), name: z.string().optional() }) }))
      .optional(),
    internetMessageHeaders: z
      .array(z.looseObject({ name: z.string().min(1).max(200), value: z.string().max(2000) }))
      .max(50)
      .optional(),
  }),
  saveToSentItems: z.union([z.boolean(), z.string()]).optional(),
});

export function graphRouter(store: GraphStore, tokens: AzureTokenStore, auth: GraphAuth): Router {
  const router = express.Router();
  router.use(requireGraphToken(tokens, auth));
  router.use((_req, res, next) => {
    store.requestCount += 1;
    res.set('request-id', randomUUID());
    next();
  });
  router.use(express.json({ limit: JSON_LIMIT }));

  const allowed = (operation: GraphOperation, res: Response): boolean => {
    if (store.allows(operation)) return true;
    if (operation === 'sendMail') fail(res, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    else fail(res, 403, insufficientPrivileges().code, insufficientPrivileges().message);
    return false;
  };
  const userOf = (req: Request, res: Response): GraphUser | undefined => {
    const id = String(req.params.id ?? '');
    const user = store.getUser(id);
    if (!user) fail(res, 404, notFound(id).code, notFound(id).message);
    return user;
  };

  router.get('/v1.0/users/:id', (req, res) => {
    if (!allowed('readUser', res)) return;
    const user = userOf(req, res);
    if (!user) return;
    const select = selected(req, res, USER_PROPERTIES, DEFAULT_USER_PROPERTIES);
    if (!select) return;
    const body: Record<string, unknown> = { '@odata.context': `${auth.baseUrl()}/v1.0/$metadata#users(${select.join(',')})/$entity` };
    for (const property of select) body[property] = userProperty(user, property);
    res.json(body);
  });

  router.patch('/v1.0/users/:id', (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
      fail(res, 400, 'Request_BadRequest', 'The request body must be a JSON object with the properties to update.');
      return;
    }
    const unsupported = Object.keys(body).filter((key) => key !== 'accountEnabled');
    if (unsupported.length > 0) {
      fail(res, 400, 'Request_BadRequest', `The simulator updates accountEnabled only, not ${unsupported.slice(0, 5).join(', ')}.`);
      return;
    }
    if (typeof body.accountEnabled !== 'boolean') {
      fail(res, 400, 'Request_BadRequest', "Invalid value specified for property 'accountEnabled' of resource 'User'.");
      return;
    }
    if (!allowed('updateAccountEnabled', res)) return;
    const user = userOf(req, res);
    if (!user) return;
    const result = store.setAccountEnabled(user.id, body.accountEnabled);
    if (!result.ok) {
      fail(res, result.status, result.code, result.message);
      return;
    }
    res.status(204).end();
  });

  router.post('/v1.0/users/:id/revokeSignInSessions', (req, res) => {
    if (!allowed('revokeSessions', res)) return;
    const user = userOf(req, res);
    if (!user) return;
    store.revokeSessions(user.id);
    res.json({ '@odata.context': `${auth.baseUrl()}/v1.0/$metadata#Edm.Boolean`, value: true });
  });

  const memberships = (req: Request, res: Response) => {
    if (!allowed('listMemberships', res)) return;
    const user = userOf(req, res);
    if (!user) return;
    const cast = req.params.cast === undefined ? undefined : String(req.params.cast).toLowerCase();
    if (cast !== undefined && cast !== 'microsoft.graph.group' && cast !== 'microsoft.graph.directoryrole') {
      fail(res, 400, 'Request_BadRequest', `The type cast '${cast.slice(0, 100)}' is not supported on transitiveMemberOf.`);
      return;
    }
    const objects: Array<Record<string, unknown>> = [];
    if (cast !== 'microsoft.graph.directoryrole') {
      for (const id of store.transitiveGroupIds(user.id)) {
        objects.push({ '@odata.type': '#microsoft.graph.group', id, displayName: store.group(id)?.displayName ?? null });
      }
    }
    if (cast !== 'microsoft.graph.group') {
      for (const role of user.adminRoles) {
        const roleTemplateId = store.roleTemplateId(role);
        objects.push({ '@odata.type': '#microsoft.graph.directoryRole', id: roleTemplateId, displayName: role, roleTemplateId });
      }
    }
    const select = selected(req, res, new Set(['id', 'displayName', 'roleTemplateId']), ['id', 'displayName']);
    if (!select) return;
    const top = Number(queryParam(req, '$top') ?? DEFAULT_PAGE_SIZE);
    if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE_SIZE) {
      fail(
        res,
        400,
        'Request_BadRequest',
        `Invalid page size specified: '${String(queryParam(req, '$top')).slice(0, 20)}'. Must be between 1 and ${MAX_PAGE_SIZE} ` +
          `inclusive.`,
      );
      return;
    }
    const pageSize = Math.min(top, store.maxPageSize);
    const skipToken = queryParam(req, '$skiptoken');
    const offset = skipToken === undefined ? 0 : Number(Buffer.from(skipToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) {
      fail(res, 400, 'Request_BadRequest', 'The $skiptoken is not valid.');
      return;
    }
    const page = objects.slice(offset, offset + pageSize).map((object) => {
      const shaped: Record<string, unknown> = { '@odata.type': object['@odata.type'] };
      for (const property of select) shaped[property] = object[property] ?? null;
      return shaped;
    });
    const body: Record<string, unknown> = {
      '@odata.context': `${auth.baseUrl()}/v1.0/$metadata#directoryObjects(${select.join(',')})`,
      value: page,
    };
    if (offset + pageSize < objects.length) {
      const next = new URL(`${auth.baseUrl()}${req.path}`);
      next.searchParams.set('$select', select.join(','));
      next.searchParams.set('$top', String(top));
      next.searchParams.set('$skiptoken', Buffer.from(String(offset + pageSize)).toString('base64url'));
      body['@odata.nextLink'] = next.toString();
    }
    res.json(body);
  };
  router.get('/v1.0/users/:id/transitiveMemberOf', memberships);
  router.get('/v1.0/users/:id/transitiveMemberOf/:cast', memberships);

  router.post('/v1.0/users/:id/sendMail', (req, res) => {
    if (!allowed('sendMail', res)) return;
    const mailbox = String(req.params.id ?? '');
    const sender = store.getUser(mailbox);
    if (!sender || !sender.mail || sender.userType === 'Guest') {
      fail(res, 404, 'ErrorInvalidUser', `The requested user '${mailbox.slice(0, 200)}' is invalid.`);
      return;
    }
    const parsed = sendMailSchema.safeParse(req.body);
    if (!parsed.success) {
      fail(res, 400, 'RequestBodyRead', `The sendMail request is not valid: ${z.prettifyError(parsed.error).replace(/\s+/g, ' ')}`);
      return;
    }
    const message = parsed.data.message;
    const to = (message.toRecipients ?? []).map((recipient) => recipient.emailAddress.address.trim());
    if (to.length === 0 || to.some((address) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address))) {
      fail(
        res,
        400,
        'ErrorInvalidRecipients',
        "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
      );
      return;
    }
    const headers = message.internetMessageHeaders ?? [];
    const badHeader = headers.find((header) => !/^x-/i.test(header.name));
    if (badHeader) {
      fail(
        res,
        400,
        'InvalidInternetMessageHeader',
        `The internet message header name '${badHeader.name.slice(0, 100)}' should start with 'x-' or 'X-'.`,
      );
      return;
    }
    const contentType = (message.body?.contentType ?? 'Text').toLowerCase() === 'html' ? 'HTML' : 'Text';
    const clientId = (res.locals.token as { clientId?: string } | undefined)?.clientId ?? 'unknown';
    store.recordMail({
      from: mailbox,
      to,
      subject: message.subject ?? '',
      contentType,
      body: message.body?.content ?? '',
      headers: Object.fromEntries(headers.map((header) => [header.name.toLowerCase(), header.value])),
      saveToSentItems: parsed.data.saveToSentItems === undefined ? true : String(parsed.data.saveToSentItems) === 'true',
      sentBy: clientId,
    });
    res.status(202).end();
  });

  return router;
}

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json(graphError(code, message));
}

/** `$select` (comma-separated, case-insensitive property names) or the defaults; unknown names are Graph's 400. */
function selected(req: Request, res: Response, known: Set<string>, defaults: string[]): string[] | undefined {
  const raw = queryParam(req, '$select');
  if (raw === undefined || raw.trim() === '') return defaults;
  const byLower = new Map([...known].map((name) => [name.toLowerCase(), name]));
  const names: string[] = [];
  for (const part of raw
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)) {
    const name = byLower.get(part.toLowerCase());
    if (!name) {
      fail(res, 400, 'Request_BadRequest', `Could not find a property named '${part.slice(0, 100)}' on type 'microsoft.graph.user'.`);
      return undefined;
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

function userProperty(user: GraphUser, property: string): unknown {
  switch (property) {
    case 'businessPhones':
      return [];
    case 'jobTitle':
    case 'mobilePhone':
    case 'officeLocation':
    case 'preferredLanguage':
      return null;
    default:
      return (user as unknown as Record<string, unknown>)[property] ?? null;
  }
}

function requireGraphToken(tokens: AzureTokenStore, auth: GraphAuth) {
  return (req: Request, res: Response, next: NextFunction) => {
    const audiences = auth.audiences();
    const check = tokens.check(req.get('authorization'), (resource) => audiences.includes(resource));
    if (check.ok) {
      res.locals.token = check.token;
      return next();
    }
    res.set(
      'WWW-Authenticate',
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
    );
    fail(res, 401, 'InvalidAuthenticationToken', authFailure(check));
  };
}

function authFailure(check: Exclude<TokenCheck, { ok: true }>): string {
  switch (check.reason) {
    case 'missing':
      return 'Access token is empty.';
    case 'expired':
      return 'Lifetime validation failed, the token is expired.';
    case 'audience':
      return 'Access token validation failure. Invalid audience.';
    case 'malformed':
    case 'unknown':
      return 'Access token validation failure.';
  }
}

const userSchema = z.strictObject({
  id: z.string().min(1).max(100).optional(),
  userPrincipalName: z.string().min(3).max(320),
  givenName: z.string().max(200).optional(),
  surname: z.string().max(200).optional(),
  displayName: z.string().max(400).optional(),
  mail: z.string().max(320).optional(),
  employeeId: z.string().max(64).optional(),
  birthday: z.string().max(40).optional(),
  userType: z.enum(['Member', 'Guest']).optional(),
  accountEnabled: z.boolean().optional(),
  groups: z.array(z.string().min(1).max(100)).max(1000).optional(),
  isAdmin: z.boolean().optional(),
  adminRoles: z.array(z.string().min(1).max(200)).max(50).optional(),
});

const permissionsSchema = z.strictObject({
  deny: z.array(z.string().min(1).max(100)).optional(),
  grant: z.array(z.string().min(1).max(100)).optional(),
  privilegedRole: z.boolean().optional(),
  reset: z.boolean().optional(),
});

/**
 * `/simulator/graph/*` on the Graph server: GET/POST `users` (POST takes GraphUserInput as JSON), GET `outbox`
 * (sent mail: subject and recipients; the body too, since tests read the link from it), GET `mailbox` (the same
 * as an HTML page for people), GET/PUT `permissions`
 * (`{"deny": [...], "grant": [...], "privilegedRole": bool, "reset": bool}`).
 */
export function graphAdminRouter(store: GraphStore): Router {
  const router = express.Router();
  router.use(express.json({ limit: JSON_LIMIT }));
  router.get('/graph/users', (_req, res) => {
    res.json({ value: store.listUsers() });
  });
  router.post('/graph/users', (req, res) => {
    const parsed = userSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'InvalidUser', message: z.prettifyError(parsed.error) } });
      return;
    }
    try {
      res.status(201).json(store.addUser(parsed.data));
    } catch (error) {
      res.status(400).json({ error: { code: 'InvalidUser', message: (error as Error).message } });
    }
  });
  router.get('/graph/outbox', (_req, res) => {
    res.json({ value: store.outbox() });
  });
  // The outbox as a person reads it (npm run dev): newest first, each message's HTML in a sandboxed frame
  // whose links open in the whole window (the confirmation page refuses to be framed).
  router.get('/graph/mailbox', (_req, res) => {
    const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
    const messages = [...store.outbox()].reverse().map((mail) => {
      const frame =
        mail.contentType === 'HTML'
          ? mail.body.replace(/<head>|<html([^>]*)>/i, (tag) => `${tag}<base target="_top">`)
          : `<pre>${escape(mail.body)}</pre>`;
      return (
        `<article><h2>${escape(mail.subject)}</h2><p>From ${escape(mail.from)} to ${escape(mail.to.join(', '))}, ` +
        `${escape(mail.sentAt.toISOString())}</p>
<iframe title="${escape(mail.subject)}" sandbox="allow-top-navigation-by-user-activation" ` +
        `srcdoc="${escape(frame)}"></iframe></article>`
      );
    });
    res
      .set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; base-uri 'none'")
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, ` +
          `initial-scale=1">
<title>Simulated mailbox (Microsoft Graph outbox)</title>
<style>body{font-family:system-ui,Arial,sans-serif;margin:1rem;color:#1d2630}article{border:1px solid ` +
          `#c9d1d9;border-radius:.5rem;padding:.5rem 1rem;margin:1rem 0}iframe{width:100%;height:26rem;border:0}</style>
</head><body><h1>Simulated mailbox</h1><p>Every message the product sent through the simulated Microsoft Graph, newest first. ` +
          `Reload to see new ones.</p>
${messages.join('\n') || '<p>No mail yet.</p>'}</body></html>`,
      );
  });
  router.get('/graph/permissions', (_req, res) => {
    res.json({ granted: store.permissions(), privilegedRole: store.privilegedRole });
  });
  router.put('/graph/permissions', (req, res) => {
    const parsed = permissionsSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'InvalidPermissions', message: z.prettifyError(parsed.error) } });
      return;
    }
    if (parsed.data.reset) store.resetPermissions();
    for (const permission of parsed.data.deny ?? []) store.denyPermission(permission);
    for (const permission of parsed.data.grant ?? []) store.grantPermission(permission);
    if (parsed.data.privilegedRole !== undefined) store.privilegedRole = parsed.data.privilegedRole;
    res.json({ granted: store.permissions(), privilegedRole: store.privilegedRole });
  });
  router.use(adminErrorHandler);
  return router;
}

import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, decodeSegment, queryParam, type ErrorBodyBuilder } from './http';
import { armRequestKind, type ArmThrottle } from './arm-throttle';
import { type AzureTokenStore, type TokenCheck } from './identity';
import type { WorkspaceRef } from './options';
import {
  CLASSIFICATIONS,
  CLASSIFICATION_REASONS,
  REASONS_FOR,
  SEVERITIES,
  STATUSES,
  incidentNotFound,
  type SentinelStore,
  type WriteResult,
} from './sentinel-store';

/** ARM's error shape. */
export const armErrorBody: ErrorBodyBuilder = (_status, code, message) => ({ error: { code, message } });

/** Stable Microsoft.SecurityInsights versions (and the JS SDK's default preview); any 2025 version too. */
export const SUPPORTED_API_VERSIONS = [
  '2021-10-01',
  '2022-09-01-preview',
  '2022-11-01',
  '2023-02-01',
  '2023-11-01',
  '2024-03-01',
  '2024-09-01',
];
const API_VERSION_2025 = /^2025-\d\d-\d\d(-preview)?$/;

// ARM matches resource paths case-insensitively.
const WORKSPACE_PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.operationalinsights\/workspaces\/([^/]+)\/providers\/microsoft\.securityinsights(\/.*)?$/i;

const nullableString = z.string().nullish();
const incidentBodySchema = z.looseObject({
  etag: z.string().optional(),
  properties: z.looseObject({
    title: z.string().min(1).max(10_000),
    description: nullableString,
    severity: z.enum(SEVERITIES),
    status: z.enum(STATUSES),
    classification: z.enum(CLASSIFICATIONS).nullish(),
    classificationReason: z.enum(CLASSIFICATION_REASONS).nullish(),
    classificationComment: nullableString,
    owner: z
      .looseObject({
        objectId: nullableString,
        email: nullableString,
        assignedTo: nullableString,
        userPrincipalName: nullableString,
        ownerType: z.enum(['Unknown', 'User', 'Group']).nullish(),
      })
      .nullish(),
    labels: z.array(z.looseObject({ labelName: z.string().min(1), labelType: z.enum(['User', 'AutoAssigned']).nullish() })).nullish(),
    firstActivityTimeUtc: nullableString,
    lastActivityTimeUtc: nullableString,
  }),
});

const commentBodySchema = z.looseObject({
  etag: z.string().optional(),
  properties: z.looseObject({ message: z.string().min(1).max(30_000) }),
});

export interface ArmAuth {
  tenantId: string;
  /** Audiences ARM accepts, normalized (see normalizeResource). */
  audiences: () => string[];
}

/**
 * Azure Resource Manager for Microsoft.SecurityInsights incidents, their entities, alerts and comments. Every
 * request needs an ARM token, then an api-version, as ARM checks them.
 */
export function sentinelRouter(store: SentinelStore, tokens: AzureTokenStore, auth: ArmAuth, throttle?: ArmThrottle): Router {
  const router = express.Router();
  router.use(requireArmToken(tokens, auth));
  router.use(requireApiVersion);
  router.use(express.json({ limit: JSON_LIMIT }));
  router.use((req, res, next) => {
    const match = WORKSPACE_PATH.exec(req.path);
    if (!match) return next();
    const [subscriptionId, resourceGroup, workspaceName] = [match[1], match[2], match[3]].map((segment) => decodeSegment(segment ?? ''));
    const rest = (match[4] ?? '').split('/').filter(Boolean).map(decodeSegment);
    if (!subscriptionId || !resourceGroup || !workspaceName || rest.some((segment) => segment === undefined)) {
      armError(res, 400, 'InvalidRequestUri', 'The request URI is not valid.');
      return;
    }
    const workspace: WorkspaceRef = { subscriptionId, resourceGroup, workspaceName };
    const actor = (res.locals.token as { clientId: string } | undefined)?.clientId ?? 'unknown';
    if (throttle) {
      // Throttled before anything else is looked at, as ARM does: a 429 changes nothing.
      const kind = armRequestKind(req.method);
      const decision = throttle.take(kind, subscriptionId, actor);
      res.set(`x-ms-ratelimit-remaining-subscription-${kind}`, String(decision.remaining));
      if (!decision.ok) {
        res.set('retry-after', String(decision.retryAfterSeconds));
        armError(
          res,
          429,
          'TooManyRequests',
          `The request is being throttled: the subscription's ${kind} budget for this principal is spent. Retry after ` +
            `${decision.retryAfterSeconds} seconds.`,
        );
        return;
      }
    }
    if (!store.hasWorkspace(workspace)) {
      armError(
        res,
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.OperationalInsights/workspaces/${workspaceName}' under resource group '${resourceGroup}' was not found.`,
      );
      return;
    }
    handleSentinel(store, workspace, rest as string[], actor, req, res);
  });
  return router;
}

function handleSentinel(
  store: SentinelStore,
  workspace: WorkspaceRef,
  segments: string[],
  actor: string,
  req: Request,
  res: Response,
): void {
  const [collection, incidentId, sub, commentId, ...extra] = segments;
  const method = req.method;
  if (collection?.toLowerCase() !== 'incidents' || extra.length > 0) {
    armError(
      res,
      404,
      'InvalidResourceType',
      `The resource type '${collection ?? ''}' could not be found in the namespace 'Microsoft.SecurityInsights'.`,
    );
    return;
  }
  if (incidentId === undefined) {
    if (method !== 'GET') return methodNotAllowed(res, method);
    res.json({ value: store.listIncidents(workspace) ?? [] });
    return;
  }
  if (sub === undefined) {
    if (method === 'GET') {
      const incident = store.getIncident(incidentId, workspace);
      if (!incident) return writeResult(res, incidentNotFound(incidentId));
      res.json(incident);
      return;
    }
    if (method === 'PUT') return putIncident(store, workspace, incidentId, actor, req, res);
    if (method === 'DELETE') {
      res.status(store.deleteIncident(workspace, incidentId, actor) ? 200 : 204).end();
      return;
    }
    return methodNotAllowed(res, method);
  }
  const incident = store.getIncident(incidentId, workspace);
  if (!incident) return writeResult(res, incidentNotFound(incidentId));
  switch (sub.toLowerCase()) {
    case 'entities': {
      if (method !== 'POST' || commentId !== undefined) return methodNotAllowed(res, method);
      const entities = store.listEntities(incidentId, workspace) ?? [];
      const kinds = [...new Set(entities.map((entity) => entity.kind))];
      res.json({
        entities,
        metaData: kinds.map((entityKind) => ({ count: entities.filter((entity) => entity.kind === entityKind).length, entityKind })),
      });
      return;
    }
    case 'alerts':
      if (method !== 'POST' || commentId !== undefined) return methodNotAllowed(res, method);
      res.json({ value: store.listAlerts(incidentId, workspace) ?? [] });
      return;
    case 'comments':
      return handleComments(store, workspace, incidentId, commentId, actor, req, res);
    default:
      armError(
        res,
        404,
        'InvalidResourceType',
        `The resource type 'incidents/${sub}' could not be found in the namespace 'Microsoft.SecurityInsights'.`,
      );
  }
}

function putIncident(store: SentinelStore, workspace: WorkspaceRef, incidentId: string, actor: string, req: Request, res: Response): void {
  const parsed = incidentBodySchema.safeParse(req.body);
  if (!parsed.success) {
    armError(res, 400, 'BadRequest', `The incident is not valid: ${z.prettifyError(parsed.error).replace(/\s+/g, ' ')}`);
    return;
  }
  const p = parsed.data.properties;
  if (p.status === 'Closed' && !p.classification) {
    armError(res, 400, 'BadRequest', 'Classification is required when closing an incident.');
    return;
  }
  if (p.classificationReason && (!p.classification || !REASONS_FOR[p.classification].includes(p.classificationReason))) {
    armError(
      res,
      400,
      'BadRequest',
      `Classification reason '${p.classificationReason}' does not match classification '${p.classification ?? ''}'.`,
    );
    return;
  }
  const result = store.putIncident(
    workspace,
    incidentId,
    {
      title: p.title,
      description: p.description,
      severity: p.severity,
      status: p.status,
      classification: p.classification,
      classificationReason: p.classificationReason,
      classificationComment: p.classificationComment,
      owner: p.owner && {
        objectId: p.owner.objectId,
        email: p.owner.email,
        assignedTo: p.owner.assignedTo,
        userPrincipalName: p.owner.userPrincipalName,
        ownerType: p.owner.ownerType,
      },
      labels: p.labels?.map((label) => ({ labelName: label.labelName, labelType: label.labelType ?? undefined })),
      firstActivityTimeUtc: p.firstActivityTimeUtc,
      lastActivityTimeUtc: p.lastActivityTimeUtc,
    },
    parsed.data.etag ?? req.get('if-match'),
    actor,
  );
  writeResult(res, result);
}

function handleComments(
  store: SentinelStore,
  workspace: WorkspaceRef,
  incidentId: string,
  commentId: string | undefined,
  actor: string,
  req: Request,
  res: Response,
): void {
  if (commentId === undefined) {
    if (req.method !== 'GET') return methodNotAllowed(res, req.method);
    res.json({ value: store.listComments(incidentId, workspace) });
    return;
  }
  switch (req.method) {
    case 'GET': {
      const comment = store.getComment(incidentId, commentId, workspace);
      if (!comment) return armError(res, 404, 'NotFound', `Comment '${commentId}' was not found.`);
      res.json(comment);
      return;
    }
    case 'PUT': {
      const parsed = commentBodySchema.safeParse(req.body);
      if (!parsed.success) {
        armError(res, 400, 'BadRequest', `The comment is not valid: ${z.prettifyError(parsed.error).replace(/\s+/g, ' ')}`);
        return;
      }
      const etag = parsed.data.etag ?? req.get('if-match');
      writeResult(res, store.putComment(workspace, incidentId, commentId, parsed.data.properties.message, etag, actor));
      return;
    }
    case 'DELETE':
      res.status(store.deleteComment(workspace, incidentId, commentId, actor) ? 200 : 204).end();
      return;
    default:
      methodNotAllowed(res, req.method);
  }
}

function writeResult<T>(res: Response, result: WriteResult<T>): void {
  if (result.ok) res.status(result.status).json(result.resource);
  else armError(res, result.status, result.code, result.message);
}

function armError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

function methodNotAllowed(res: Response, method: string): void {
  armError(res, 405, 'MethodNotAllowed', `The HTTP method '${method}' is not supported for this resource.`);
}

function requireApiVersion(req: Request, res: Response, next: NextFunction): void {
  const apiVersion = queryParam(req, 'api-version');
  if (!apiVersion) {
    armError(res, 400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    return;
  }
  if (!SUPPORTED_API_VERSIONS.includes(apiVersion) && !API_VERSION_2025.test(apiVersion)) {
    armError(
      res,
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion.slice(0, 40)}' is invalid. The supported versions are '${SUPPORTED_API_VERSIONS.join(',')}'.`,
    );
    return;
  }
  next();
}

function requireArmToken(tokens: AzureTokenStore, auth: ArmAuth) {
  return (req: Request, res: Response, next: NextFunction) => {
    const audiences = auth.audiences();
    const check = tokens.check(req.get('authorization'), (resource) => audiences.includes(resource));
    if (check.ok) {
      res.locals.token = check.token;
      return next();
    }
    const [code, message] = armAuthFailure(check, audiences);
    res.set(
      'WWW-Authenticate',
      `Bearer authorization_uri="https://login.microsoftonline.com/${auth.tenantId}", error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
    );
    armError(res, 401, code, message);
  };
}

function armAuthFailure(check: Exclude<TokenCheck, { ok: true }>, audiences: string[]): [string, string] {
  switch (check.reason) {
    case 'missing':
      return ['AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."];
    case 'malformed':
      return ['AuthenticationFailed', "Authentication failed. The 'Authorization' header is not in a valid format."];
    case 'expired':
      return ['ExpiredAuthenticationToken', 'The access token has expired.'];
    case 'audience':
      return [
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience or resource '${check.resource}'. It should exactly match with ` +
          `one of the allowed audiences '${audiences.join("','")}'.`,
      ];
    case 'unknown':
      return ['InvalidAuthenticationToken', 'The access token is invalid.'];
  }
}

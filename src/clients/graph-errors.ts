import { GraphClientError, GraphError } from '@microsoft/microsoft-graph-client';
import { ServiceApiError, type ServiceErrorDetails } from './api-error';
import { retryAfterMs } from './incode-errors';

/**
 * What is ours in talking to Microsoft Graph: which application permission each action needs, and the SDK's
 * failures (GraphError, or what its middleware threw) classified into a GraphApiError whose message says what
 * to fix. A 403 becomes a GraphPermissionError naming the missing permission. Nothing here carries the token.
 */

export type GraphAction = 'readUser' | 'listGroups' | 'revokeSessions' | 'disableAccount' | 'sendMail';

/** The least privileged application permission each action needs (admin consent required for all). */
export const GRAPH_PERMISSION_FOR: Readonly<Record<GraphAction, string>> = Object.freeze({
  readUser: 'User.Read.All',
  listGroups: 'GroupMember.Read.All',
  revokeSessions: 'User.RevokeSessions.All',
  disableAccount: 'User.EnableDisableAccount.All',
  sendMail: 'Mail.Send',
});

export type GraphErrorKind =
  | 'PermissionDenied'
  | 'UserNotFound'
  | 'MailboxNotFound'
  | 'Unauthorized'
  | 'BadRequest'
  | 'RateLimited'
  | 'ServerError'
  | 'Network'
  | 'UnexpectedResponse';

export interface GraphErrorDetails extends ServiceErrorDetails {
  /** Graph's `error.code`, e.g. Authorization_RequestDenied, Request_ResourceNotFound. */
  graphCode?: string;
  /** Graph's `error.message`, trimmed. */
  graphMessage?: string;
  /** Graph's request-id, for a support case. */
  requestId?: string;
}

export class GraphApiError extends ServiceApiError<GraphErrorKind, GraphErrorDetails> {
  override name = 'GraphApiError';

  constructor(kind: GraphErrorKind, message: string, details: GraphErrorDetails = {}) {
    super('Graph', kind, message, details);
  }
}

/**
 * Graph refused an action for lack of privilege (403). `permission` is the application permission the action
 * needs; `privilegedRoleRequired` is set when the target is an administrator, whom an app may only disable when
 * it also holds a higher privileged Entra role (Privileged Authentication Administrator).
 */
export class GraphPermissionError extends GraphApiError {
  override name = 'GraphPermissionError';

  constructor(
    readonly action: GraphAction,
    readonly permission: string,
    message: string,
    details: GraphErrorDetails,
    readonly privilegedRoleRequired = false,
  ) {
    super('PermissionDenied', message, details);
  }

  override failureDetails(): { kind: GraphErrorKind; permission: string } & GraphErrorDetails {
    return { ...super.failureDetails(), permission: this.permission };
  }
}

/** One Graph operation, for messages: what was asked, about whom (a user id or UPN, a mailbox). */
export interface GraphOperation {
  action: GraphAction;
  subject: string;
}

/** How the operation ended when no HTTP answer explains it. */
export interface FailureContext {
  host: string;
  scope: string;
  timeoutMs: number;
  /** The operation's own timeout fired (AZURE_HTTP_TIMEOUT). */
  timedOut: boolean;
  /** The credential failed to give a token, with this error. */
  tokenFailure?: unknown;
}

/** Classifies what a Graph SDK call threw. */
export function toGraphApiError(error: unknown, operation: GraphOperation, context: FailureContext): GraphApiError {
  if (error instanceof GraphApiError) return error;
  if (context.tokenFailure !== undefined) {
    // The credential's message says what failed (it carries no token); keep its first line.
    const reason = String((context.tokenFailure as Error)?.message ?? context.tokenFailure).split('\n')[0];
    return new GraphApiError('Network', `No token for Microsoft Graph (${context.scope}): ${reason}`);
  }
  if (context.timedOut) {
    return new GraphApiError('Network', `Microsoft Graph unreachable at ${context.host}: no answer within ${context.timeoutMs} ms`, {
      noAnswer: 'timeout',
    });
  }
  if (error instanceof GraphClientError) {
    return new GraphApiError('Unauthorized', `No token for Microsoft Graph (${context.scope}): ${error.message}`);
  }
  if (!(error instanceof GraphError)) {
    return new GraphApiError(
      'UnexpectedResponse',
      `Microsoft Graph's answer to ${describe(operation)} was unexpected: ${(error as Error)?.message ?? String(error)}`,
    );
  }
  if (error.statusCode < 100) {
    return new GraphApiError('Network', `Microsoft Graph unreachable at ${context.host}: ${error.message || error.code || 'no answer'}`, {
      noAnswer: 'network',
    });
  }
  return fromAnswer(error, operation);
}

function fromAnswer(error: GraphError, operation: GraphOperation): GraphApiError {
  const status = error.statusCode;
  // Graph's error body gives code and message; the SDK names a body it could not parse by its error's name.
  const answered = typeof error.body === 'string' && error.body.startsWith('{');
  const details: GraphErrorDetails = {
    httpStatus: status,
    graphCode: answered ? error.code?.slice(0, 100) : undefined,
    graphMessage: answered ? error.message?.slice(0, 300) || undefined : undefined,
    requestId: error.headers?.get('request-id') ?? error.requestId ?? undefined,
  };
  if (status < 300) {
    return new GraphApiError('UnexpectedResponse', `Microsoft Graph answered HTTP ${status} with a body that is not JSON`, details);
  }
  const what = describe(operation);
  const graph = graphSuffix(details);
  if (status === 403) {
    const permission = GRAPH_PERMISSION_FOR[operation.action];
    const extra =
      operation.action === 'sendMail'
        ? '; if it has it, an application access policy or RBAC for Applications in Exchange Online may exclude this mailbox'
        : operation.action === 'listGroups'
          ? ' (or User.Read.All)'
          : '';
    return new GraphPermissionError(
      operation.action,
      permission,
      `Microsoft Graph refused to ${what}${graph}: the app needs the application permission ${permission} (with admin consent)${extra}`,
      details,
    );
  }
  if (status === 404) {
    return operation.action === 'sendMail'
      ? new GraphApiError('MailboxNotFound', `Microsoft Graph has no mailbox ${operation.subject}${graph}`, details)
      : new GraphApiError('UserNotFound', `Microsoft Graph has no user ${operation.subject}${graph}`, details);
  }
  if (status === 401) {
    return new GraphApiError(
      'Unauthorized',
      `Microsoft Graph rejected the token to ${what}${graph}; check that GRAPH_ENDPOINT / AZURE_CLOUD name the tenant's cloud`,
      details,
    );
  }
  const wait = retryAfterMs(error.headers?.get('retry-after') ?? null);
  if (status === 429) {
    return new GraphApiError('RateLimited', `Microsoft Graph throttled the request to ${what} (HTTP 429)`, {
      ...details,
      retryAfterMs: wait,
    });
  }
  if (status >= 500)
    return new GraphApiError('ServerError', `Microsoft Graph failed to ${what} (HTTP ${status})${graph}`, {
      ...details,
      retryAfterMs: wait,
    });
  return new GraphApiError('BadRequest', `Microsoft Graph refused to ${what} (HTTP ${status})${graph}`, details);
}

/**
 * Disabling an administrator needs a privileged role, not only the permission: `adminRoles` are the user's
 * directory roles (undefined when they could not be read), and the explanation says which applies.
 */
export function explainDisableRefusal(
  subject: string,
  refusal: GraphPermissionError,
  adminRoles: string[] | undefined,
): GraphPermissionError {
  const permission = GRAPH_PERMISSION_FOR.disableAccount;
  const graph = graphSuffix(refusal.details);
  if (adminRoles && adminRoles.length > 0) {
    return new GraphPermissionError(
      'disableAccount',
      permission,
      `Microsoft Graph refused to disable ${subject}${graph}: the user holds an admin role (${adminRoles.slice(0, 5).join(', ')}), ` +
        `and the app needs a higher privileged role to disable an administrator (assign its service principal the ` +
        `Privileged Authentication Administrator role), besides the ${permission} permission`,
      refusal.details,
      true,
    );
  }
  if (adminRoles) return refusal;
  return new GraphPermissionError(
    'disableAccount',
    permission,
    `Microsoft Graph refused to disable ${subject}${graph}: the app needs the application permission ${permission} ` +
      `(with admin consent); if the user holds an admin role, the app needs a higher privileged role as well ` +
      `(Privileged Authentication Administrator)`,
    refusal.details,
    true,
  );
}

function describe(operation: GraphOperation): string {
  switch (operation.action) {
    case 'readUser':
      return `read user ${operation.subject}`;
    case 'listGroups':
      return `list the memberships of ${operation.subject}`;
    case 'revokeSessions':
      return `revoke the sign-in sessions of ${operation.subject}`;
    case 'disableAccount':
      return `disable ${operation.subject}`;
    case 'sendMail':
      return `send mail as ${operation.subject}`;
  }
}

function graphSuffix(details: GraphErrorDetails): string {
  return details.graphCode || details.graphMessage ? ` (${[details.graphCode, details.graphMessage].filter(Boolean).join(': ')})` : '';
}

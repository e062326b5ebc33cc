import type { TokenCredential } from '@azure/identity';
import { callSignal, throwIfCancelled, type CancellationSource } from './abort';
import { ServiceApiError, type ServiceErrorDetails } from './api-error';
import { retryAfterMs } from './incode-errors';

/**
 * Microsoft Graph (v1.0) for what itdr-verify needs of Entra ID and Exchange Online: a user's profile and group
 * memberships, revoking sign-in sessions, disabling an account, and sending the verification link by mail.
 *
 * Plain fetch with a bearer token from the process's TokenCredential for `${graphEndpoint}/.default` (the cloud's
 * Graph: graph.microsoft.com, graph.microsoft.us, microsoftgraph.chinacloudapi.cn). Every HTTP call is bounded by
 * `timeoutMs` (the token request too). A 429 is retried here when Graph asks for a short wait (Retry-After up to
 * `maxRetryAfterMs`), at most `maxRetries` times, as Microsoft's Graph SDKs do; a longer wait, or a 429 that
 * persists, becomes a retryable GraphApiError carrying the wait. 5xx answers are retried the same way for reads
 * and idempotent writes, never for sendMail (a 5xx may hide a message that did leave).
 *
 * Errors are classified (GraphApiError.kind); a 403 becomes a GraphPermissionError naming the application
 * permission the action needs. Neither errors nor anything else here carry the token.
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
  /** Graph's request-id header, for a support case. */
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

export interface EntraUser {
  id: string;
  userPrincipalName: string;
  givenName?: string;
  surname?: string;
  displayName?: string;
  employeeId?: string;
  /** Date part (YYYY-MM-DD). Graph reports an unset birthday as 0001-01-01, which is returned as absent. */
  birthday?: string;
  userType: 'Member' | 'Guest';
  accountEnabled: boolean;
}

export interface MailMessage {
  to: string | string[];
  subject: string;
  htmlBody: string;
  /** Custom Internet message headers; Graph accepts only names starting with `x-`. */
  headers?: Record<string, string>;
}

export interface GraphClientOptions {
  /** The cloud's Microsoft Graph endpoint (AzureConfig.graphEndpoint), no path: https://graph.microsoft.com. */
  graphEndpoint: string;
  /** Bound of each HTTP call and of each token request; default 15 s. */
  timeoutMs?: number;
  /** In-client retries of a 429 (and of a 5xx for reads and idempotent writes); default 2. */
  maxRetries?: number;
  /** Longest Retry-After waited for in the client; longer ones are left to the caller (Temporal). Default 10 s. */
  maxRetryAfterMs?: number;
  /** Bound of @odata.nextLink pages followed for one listing; default 20 (of up to 999 entries each). */
  maxPages?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Hears of every failed operation, after this client's own retries: the status, `timeout` or `network` (a metric). */
  onApiError?: (code: string) => void;
  /** Aborts the call in progress, token request included (the worker passes the activity's cancellation signal). */
  cancellation?: CancellationSource;
}

const USER_FIELDS = ['id', 'userPrincipalName', 'givenName', 'surname', 'displayName', 'employeeId', 'birthday', 'userType', 'accountEnabled'];
const NEVER_SET_BIRTHDAY = '0001-01-01';
const PAGE_SIZE = 999;

interface GraphRequest {
  method: 'GET' | 'POST' | 'PATCH';
  /** Path under the endpoint (starting with /v1.0), or an absolute @odata.nextLink. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  action: GraphAction;
  /** Safe to repeat after a 5xx. */
  idempotent: boolean;
  /** What the request is about, for messages: a user id or UPN, a mailbox. */
  subject: string;
}

export class GraphClient {
  private readonly endpoint: string;
  private readonly scope: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxPages: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly onApiError?: (code: string) => void;
  private readonly cancellation?: CancellationSource;

  constructor(
    private readonly credential: TokenCredential,
    options: GraphClientOptions,
  ) {
    if (!options?.graphEndpoint) {
      throw new Error('GraphClient: graphEndpoint is required (AZURE_CLOUD sets it; a custom cloud needs GRAPH_ENDPOINT)');
    }
    const url = new URL(options.graphEndpoint);
    this.endpoint = url.origin;
    this.scope = `${this.endpoint}/.default`;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxRetries = options.maxRetries ?? 2;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.maxPages = options.maxPages ?? 20;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.onApiError = options.onApiError;
    this.cancellation = options.cancellation;
  }

  /** The user by object id or UPN (a guest's `#EXT#` UPN too). `birthday` is returned only because it is $select-ed. */
  async getUser(idOrUpn: string): Promise<EntraUser> {
    const body = await this.call({
      method: 'GET',
      path: `/v1.0/users/${userSegment(idOrUpn)}?$select=${USER_FIELDS.join(',')}`,
      action: 'readUser',
      idempotent: true,
      subject: idOrUpn,
    });
    return toEntraUser(body, idOrUpn);
  }

  /** The user's primary SMTP address (`mail`), lower-cased; undefined when the user has none. */
  async mailOf(idOrUpn: string): Promise<string | undefined> {
    const body = (await this.call({
      method: 'GET',
      path: `/v1.0/users/${userSegment(idOrUpn)}?$select=mail`,
      action: 'readUser',
      idempotent: true,
      subject: idOrUpn,
    })) as { mail?: unknown } | undefined;
    return typeof body?.mail === 'string' && body.mail.trim() ? body.mail.trim().toLowerCase() : undefined;
  }

  /** Ids of the groups the user is a member of, directly or through nested groups (every page, bounded). */
  async memberOfGroupIds(idOrUpn: string): Promise<string[]> {
    const ids = await this.listIds(`/v1.0/users/${userSegment(idOrUpn)}/transitiveMemberOf/microsoft.graph.group`, idOrUpn);
    return [...new Set(ids)];
  }

  /** Invalidates the user's refresh tokens and session cookies (signInSessionsValidFromDateTime = now). Repeatable. */
  async revokeSignInSessions(idOrUpn: string): Promise<void> {
    await this.call({
      method: 'POST',
      path: `/v1.0/users/${userSegment(idOrUpn)}/revokeSignInSessions`,
      action: 'revokeSessions',
      idempotent: true,
      subject: idOrUpn,
    });
  }

  /**
   * Disables sign-in (accountEnabled=false). Reads first: an account already disabled is left alone and reported
   * as `already`. A 403 on an administrator says that the app needs a higher privileged role, not a permission.
   */
  async disableAccount(idOrUpn: string): Promise<'disabled' | 'already'> {
    const user = await this.getUser(idOrUpn);
    if (!user.accountEnabled) return 'already';
    try {
      await this.call({
        method: 'PATCH',
        path: `/v1.0/users/${userSegment(user.id)}`,
        body: { accountEnabled: false },
        action: 'disableAccount',
        idempotent: true,
        subject: idOrUpn,
      });
    } catch (error) {
      if (error instanceof GraphPermissionError) throw await this.explainDisableRefusal(idOrUpn, user.id, error);
      throw error;
    }
    return 'disabled';
  }

  /** Sends an HTML message as `fromMailbox` (Graph answers 202: accepted for delivery); not saved to Sent Items. */
  async sendMail(fromMailbox: string, message: MailMessage): Promise<void> {
    const to = (Array.isArray(message.to) ? message.to : [message.to]).map((address) => address.trim()).filter(Boolean);
    if (to.length === 0) throw new GraphApiError('BadRequest', 'sendMail needs at least one recipient');
    const headers = Object.entries(message.headers ?? {});
    const invalid = headers.find(([name]) => !/^x-[A-Za-z0-9-]+$/i.test(name));
    if (invalid) throw new GraphApiError('BadRequest', `Custom mail header ${invalid[0]} must start with x- (Graph refuses others)`);
    await this.call({
      method: 'POST',
      path: `/v1.0/users/${userSegment(fromMailbox)}/sendMail`,
      body: {
        message: {
          subject: message.subject,
          body: { contentType: 'HTML', content: message.htmlBody },
          toRecipients: to.map((address) => ({ emailAddress: { address } })),
          ...(headers.length > 0 ? { internetMessageHeaders: headers.map(([name, value]) => ({ name, value })) } : {}),
        },
        saveToSentItems: false,
      },
      action: 'sendMail',
      // A 5xx may hide a message that did leave: no in-client repeat (Temporal's retry decides).
      idempotent: false,
      subject: fromMailbox,
    });
  }

  /** Admin roles are visible as directoryRole memberships; an empty list or a refusal leaves the cause open. */
  private async explainDisableRefusal(idOrUpn: string, id: string, refusal: GraphPermissionError): Promise<GraphPermissionError> {
    let roles: string[] | undefined;
    try {
      roles = await this.listIds(`/v1.0/users/${userSegment(id)}/transitiveMemberOf/microsoft.graph.directoryRole`, idOrUpn, 'id,displayName', 'displayName');
    } catch {
      roles = undefined;
    }
    const permission = GRAPH_PERMISSION_FOR.disableAccount;
    const graph = graphSuffix(refusal.details);
    if (roles && roles.length > 0) {
      return new GraphPermissionError(
        'disableAccount',
        permission,
        `Microsoft Graph refused to disable ${idOrUpn}${graph}: the user holds an admin role (${roles.slice(0, 5).join(', ')}), ` +
          `and the app needs a higher privileged role to disable an administrator (assign its service principal the ` +
          `Privileged Authentication Administrator role), besides the ${permission} permission`,
        refusal.details,
        true,
      );
    }
    if (roles) return refusal;
    return new GraphPermissionError(
      'disableAccount',
      permission,
      `Microsoft Graph refused to disable ${idOrUpn}${graph}: the app needs the application permission ${permission} ` +
        `(with admin consent); if the user holds an admin role, the app needs a higher privileged role as well ` +
        `(Privileged Authentication Administrator)`,
      refusal.details,
      true,
    );
  }

  /** Follows @odata.nextLink (same origin only: the token never leaves for another host), up to maxPages. */
  private async listIds(path: string, subject: string, select = 'id', field: 'id' | 'displayName' = 'id'): Promise<string[]> {
    const values: string[] = [];
    let next: string | undefined = `${path}?$select=${select}&$top=${PAGE_SIZE}`;
    for (let page = 0; next; page++) {
      if (page >= this.maxPages) {
        throw new GraphApiError('UnexpectedResponse', `Microsoft Graph listing for ${subject} has more than ${this.maxPages} pages; stopped`);
      }
      const body = (await this.call({
        method: 'GET',
        path: next,
        // Casts on directory relationships are advanced queries on some tenants: always allowed with this header.
        headers: { consistencylevel: 'eventual' },
        action: 'listGroups',
        idempotent: true,
        subject,
      })) as { value?: unknown; '@odata.nextLink'?: unknown };
      if (!Array.isArray(body.value)) throw new GraphApiError('UnexpectedResponse', 'Microsoft Graph answered a listing without `value`');
      for (const item of body.value) {
        const value = (item as Record<string, unknown> | null)?.[field] ?? (item as Record<string, unknown> | null)?.id;
        if (typeof value === 'string' && value) values.push(value);
      }
      next = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
    }
    return values;
  }

  /** One operation: reported to onApiError once if it fails with an HTTP error or no answer, whatever was retried. */
  private async call(request: GraphRequest): Promise<unknown> {
    try {
      return await this.attempts(request);
    } catch (error) {
      const code = error instanceof GraphApiError ? (error.details.httpStatus ?? error.details.noAnswer) : undefined;
      if (code !== undefined) this.onApiError?.(String(code));
      throw error;
    }
  }

  private async attempts(request: GraphRequest): Promise<unknown> {
    const url = this.resolve(request.path);
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const response = await this.send(url, {
        method: request.method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...request.headers,
        },
        body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
      });
      if (response.ok) return readBody(response);
      const wait = retryAfterMs(response.headers.get('retry-after'), this.now());
      const repeatable = response.status === 429 || (response.status >= 500 && request.idempotent);
      if (repeatable && attempt < this.maxRetries && (wait ?? 1000) <= this.maxRetryAfterMs) {
        await response.body?.cancel();
        await sleep(wait ?? 1000 * 2 ** attempt);
        continue;
      }
      throw await this.toError(response, request, wait);
    }
  }

  private resolve(path: string): string {
    const url = new URL(path, this.endpoint);
    if (url.origin !== this.endpoint) {
      throw new GraphApiError('UnexpectedResponse', `Microsoft Graph sent a link to another host (${url.host}); not followed`);
    }
    return url.toString();
  }

  private async token(): Promise<string> {
    let token: { token: string } | null;
    try {
      token = await this.credential.getToken(this.scope, { abortSignal: callSignal(this.timeoutMs, this.cancellation) });
    } catch (error) {
      throwIfCancelled(this.cancellation);
      // The credential's message says what failed (it carries no token); keep its first line.
      const reason = String((error as Error)?.message ?? error).split('\n')[0];
      throw new GraphApiError('Network', `No token for Microsoft Graph (${this.scope}): ${reason}`);
    }
    if (!token?.token) throw new GraphApiError('Unauthorized', `The credential returned no token for ${this.scope}`);
    return token.token;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { ...init, signal: callSignal(this.timeoutMs, this.cancellation) });
    } catch (error) {
      throwIfCancelled(this.cancellation);
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new GraphApiError(
        'Network',
        `Microsoft Graph unreachable at ${new URL(url).host}: ${timedOut ? `no answer within ${this.timeoutMs} ms` : (error as Error).message}`,
        { noAnswer: timedOut ? 'timeout' : 'network' },
      );
    }
    return response;
  }

  private async toError(response: Response, request: GraphRequest, wait: number | undefined): Promise<GraphApiError> {
    const parsed = parseGraphError(await response.text());
    const details: GraphErrorDetails = {
      httpStatus: response.status,
      graphCode: parsed.code,
      graphMessage: parsed.message,
      requestId: response.headers.get('request-id') ?? undefined,
    };
    const what = describe(request);
    const graph = graphSuffix(details);
    const status = response.status;
    if (status === 403) {
      const permission = GRAPH_PERMISSION_FOR[request.action];
      const extra =
        request.action === 'sendMail'
          ? '; if it has it, an application access policy or RBAC for Applications in Exchange Online may exclude this mailbox'
          : request.action === 'listGroups'
            ? ' (or User.Read.All)'
            : '';
      return new GraphPermissionError(
        request.action,
        permission,
        `Microsoft Graph refused to ${what}${graph}: the app needs the application permission ${permission} (with admin consent)${extra}`,
        details,
      );
    }
    if (status === 404) {
      return request.action === 'sendMail'
        ? new GraphApiError('MailboxNotFound', `Microsoft Graph has no mailbox ${request.subject}${graph}`, details)
        : new GraphApiError('UserNotFound', `Microsoft Graph has no user ${request.subject}${graph}`, details);
    }
    if (status === 401) {
      return new GraphApiError(
        'Unauthorized',
        `Microsoft Graph rejected the token to ${what}${graph}; check that GRAPH_ENDPOINT / AZURE_CLOUD name the tenant's cloud`,
        details,
      );
    }
    if (status === 429) {
      return new GraphApiError('RateLimited', `Microsoft Graph throttled the request to ${what} (HTTP 429)`, { ...details, retryAfterMs: wait });
    }
    if (status >= 500) return new GraphApiError('ServerError', `Microsoft Graph failed to ${what} (HTTP ${status})${graph}`, { ...details, retryAfterMs: wait });
    return new GraphApiError('BadRequest', `Microsoft Graph refused to ${what} (HTTP ${status})${graph}`, details);
  }
}

function describe(request: GraphRequest): string {
  switch (request.action) {
    case 'readUser':
      return `read user ${request.subject}`;
    case 'listGroups':
      return `list the memberships of ${request.subject}`;
    case 'revokeSessions':
      return `revoke the sign-in sessions of ${request.subject}`;
    case 'disableAccount':
      return `disable ${request.subject}`;
    case 'sendMail':
      return `send mail as ${request.subject}`;
  }
}

function graphSuffix(details: GraphErrorDetails): string {
  return details.graphCode || details.graphMessage ? ` (${[details.graphCode, details.graphMessage].filter(Boolean).join(': ')})` : '';
}

/** Graph's error body: `{error: {code, message, innerError}}`; anything else yields nothing. */
export function parseGraphError(text: string): { code?: string; message?: string } {
  try {
    const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } })?.error;
    return {
      code: typeof error?.code === 'string' ? error.code.slice(0, 100) : undefined,
      message: typeof error?.message === 'string' ? error.message.slice(0, 300) : undefined,
    };
  } catch {
    return {};
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new GraphApiError('UnexpectedResponse', `Microsoft Graph answered HTTP ${response.status} with a body that is not JSON`);
  }
}

/** A user id or UPN as one path segment (`#` of guest UPNs must be %23, `/` cannot appear). */
function userSegment(idOrUpn: string): string {
  const value = idOrUpn.trim();
  if (!value) throw new GraphApiError('BadRequest', 'A user id or UPN is required');
  return encodeURIComponent(value);
}

function toEntraUser(body: unknown, asked: string): EntraUser {
  const record = (body ?? {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const value = record[key];
    return typeof value === 'string' && value.trim() ? value : undefined;
  };
  const id = text('id');
  const userPrincipalName = text('userPrincipalName');
  if (!id || !userPrincipalName) throw new GraphApiError('UnexpectedResponse', `Microsoft Graph answered user ${asked} without id or userPrincipalName`);
  const birthday = text('birthday')?.slice(0, 10);
  return {
    id,
    userPrincipalName,
    givenName: text('givenName'),
    surname: text('surname'),
    displayName: text('displayName'),
    employeeId: text('employeeId'),
    birthday: birthday && /^\d{4}-\d{2}-\d{2}$/.test(birthday) && birthday !== NEVER_SET_BIRTHDAY ? birthday : undefined,
    userType: text('userType')?.toLowerCase() === 'guest' ? 'Guest' : 'Member',
    // Only an explicit false counts as disabled; a missing value is treated as enabled (the default).
    accountEnabled: record.accountEnabled !== false,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

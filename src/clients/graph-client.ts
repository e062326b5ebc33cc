import type { TokenCredential } from '@azure/identity';
import {
  AuthenticationHandlerOptions,
  Client,
  PageIterator,
  type GraphRequest,
  type GraphRequestOptions,
  type PageCollection,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { callSignal, throwIfCancelled, type CancellationSource } from './abort';
import { explainDisableRefusal, GraphApiError, GraphPermissionError, toGraphApiError, type GraphOperation } from './graph-errors';
import { graphMiddleware, noRetries } from './graph-middleware';

/**
 * Microsoft Graph (v1.0) for what itdr-verify needs of Entra ID and Exchange Online: a user's profile and group
 * memberships, revoking sign-in sessions, disabling an account, and sending the verification link by mail.
 *
 * The Microsoft Graph SDK (`@microsoft/microsoft-graph-client`) against the cloud's Graph (graph.microsoft.com,
 * graph.microsoft.us, dod-graph.microsoft.us, microsoftgraph.chinacloudapi.cn, or the simulator), with a token
 * from the process's TokenCredential for `${graphEndpoint}/.default` (TokenCredentialAuthenticationProvider; the
 * SDK attaches it to that host and Graph's own hosts only, so a link elsewhere never gets it). Its RetryHandler
 * repeats a 429, 503 or 504 after Graph's Retry-After (up to `maxRetryAfterMs`, at most `maxRetries` times); a
 * longer wait is left to Temporal. sendMail is never repeated in the client. Listings follow @odata.nextLink
 * with the SDK's PageIterator.
 *
 * Each operation (a read, a write, a whole listing) is bounded by `timeoutMs` (AZURE_HTTP_TIMEOUT), retries and
 * token request included, and aborted when the caller's cancellation fires. Errors become GraphApiError
 * (graph-errors.ts); a failed operation is reported to `onApiError` once, whatever was retried.
 */

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
  /** Bound of each operation, its retries and token request included (AZURE_HTTP_TIMEOUT); default 30 s. */
  timeoutMs?: number;
  /** In-client retries of a 429, 503 or 504 (never of sendMail); default 2. */
  maxRetries?: number;
  /** Longest Retry-After waited for in the client; longer ones are left to the caller (Temporal). Default 10 s. */
  maxRetryAfterMs?: number;
  /** Bound of the entries one listing collects (every page); default 20,000. */
  maxListed?: number;
  /** Hears of every failed operation, after the SDK's retries: the status, `timeout` or `network` (a metric). */
  onApiError?: (code: string) => void;
  /** Aborts the operation in progress, token request included (the worker passes the activity's cancellation signal). */
  cancellation?: CancellationSource;
}

const USER_FIELDS = [
  'id',
  'userPrincipalName',
  'givenName',
  'surname',
  'displayName',
  'employeeId',
  'birthday',
  'userType',
  'accountEnabled',
];
const NEVER_SET_BIRTHDAY = '0001-01-01';
const PAGE_SIZE = 999;
// Casts on directory relationships are advanced queries on some tenants: always allowed with this header.
const ADVANCED_QUERY = { ConsistencyLevel: 'eventual' };

type Send<T> = (request: (path: string) => GraphRequest, options: GraphRequestOptions) => Promise<T>;

export class GraphClient {
  private readonly sdk: Client;
  private readonly host: string;
  private readonly scope: string;
  private readonly timeoutMs: number;
  private readonly maxListed: number;
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
    this.host = url.host;
    this.scope = `${url.origin}/.default`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxListed = options.maxListed ?? 20_000;
    this.onApiError = options.onApiError;
    this.cancellation = options.cancellation;
    this.sdk = Client.initWithMiddleware({
      baseUrl: url.origin,
      defaultVersion: 'v1.0',
      // The SDK knows the national clouds' Graph hosts; the configured one (the simulator's) is added.
      customHosts: new Set([url.hostname]),
      middleware: graphMiddleware(new TokenCredentialAuthenticationProvider(credential, { scopes: [this.scope] }), {
        maxRetries: options.maxRetries ?? 2,
        maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
      }),
    });
  }

  /** The user by object id or UPN (a guest's `#EXT#` UPN too). `birthday` is returned only because it is $select-ed. */
  async getUser(idOrUpn: string): Promise<EntraUser> {
    const body: unknown = await this.run({ action: 'readUser', subject: idOrUpn }, (request) =>
      request(`/users/${userSegment(idOrUpn)}`)
        .select(USER_FIELDS)
        .get(),
    );
    return toEntraUser(body, idOrUpn);
  }

  /** The user's primary SMTP address (`mail`), lower-cased; undefined when the user has none. */
  async mailOf(idOrUpn: string): Promise<string | undefined> {
    const body = (await this.run({ action: 'readUser', subject: idOrUpn }, (request) =>
      request(`/users/${userSegment(idOrUpn)}`)
        .select('mail')
        .get(),
    )) as { mail?: unknown } | undefined;
    return typeof body?.mail === 'string' && body.mail.trim() ? body.mail.trim().toLowerCase() : undefined;
  }

  /** Ids of the groups the user is a member of, directly or through nested groups (every page, bounded). */
  async memberOfGroupIds(idOrUpn: string): Promise<string[]> {
    const ids = await this.list(`/users/${userSegment(idOrUpn)}/transitiveMemberOf/microsoft.graph.group`, idOrUpn, ['id'], 'id');
    return [...new Set(ids)];
  }

  /** Invalidates the user's refresh tokens and session cookies (signInSessionsValidFromDateTime = now). Repeatable. */
  async revokeSignInSessions(idOrUpn: string): Promise<void> {
    await this.run({ action: 'revokeSessions', subject: idOrUpn }, (request) =>
      request(`/users/${userSegment(idOrUpn)}/revokeSignInSessions`).post(undefined),
    );
  }

  /**
   * Disables sign-in (accountEnabled=false). Reads first: an account already disabled is left alone and reported
   * as `already`. A 403 on an administrator says that the app needs a higher privileged role, not a permission.
   */
  async disableAccount(idOrUpn: string): Promise<'disabled' | 'already'> {
    const user = await this.getUser(idOrUpn);
    if (!user.accountEnabled) return 'already';
    try {
      await this.run({ action: 'disableAccount', subject: idOrUpn }, (request) =>
        request(`/users/${userSegment(user.id)}`).patch({ accountEnabled: false }),
      );
    } catch (error) {
      if (!(error instanceof GraphPermissionError)) throw error;
      // Admin roles are visible as directoryRole memberships; a refusal to list them leaves the cause open.
      const roles = await this.list(
        `/users/${userSegment(user.id)}/transitiveMemberOf/microsoft.graph.directoryRole`,
        idOrUpn,
        ['id', 'displayName'],
        'displayName',
      ).catch(() => undefined);
      throw explainDisableRefusal(idOrUpn, error, roles);
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
    const mail = {
      message: {
        subject: message.subject,
        body: { contentType: 'HTML', content: message.htmlBody },
        toRecipients: to.map((address) => ({ emailAddress: { address } })),
        ...(headers.length > 0 ? { internetMessageHeaders: headers.map(([name, value]) => ({ name, value })) } : {}),
      },
      saveToSentItems: false,
    };
    // No idempotency key: a repeat after a 503 may deliver twice, so Temporal's retry decides (the activity says so).
    await this.run(
      { action: 'sendMail', subject: fromMailbox },
      (request) => request(`/users/${userSegment(fromMailbox)}/sendMail`).post(mail),
      { retry: false },
    );
  }

  /** Every entry of a listing (PageIterator follows @odata.nextLink), up to maxListed. */
  private list(path: string, subject: string, select: string[], field: 'id' | 'displayName'): Promise<string[]> {
    return this.run({ action: 'listGroups', subject }, async (request, options) => {
      const first = (await request(path).headers(ADVANCED_QUERY).select(select).top(PAGE_SIZE).get()) as PageCollection | undefined;
      if (!Array.isArray(first?.value)) throw new GraphApiError('UnexpectedResponse', 'Microsoft Graph answered a listing without `value`');
      const values: string[] = [];
      const pages = new PageIterator(
        this.sdk,
        first,
        (item: Record<string, unknown> | null) => {
          const value = item?.[field] ?? item?.id;
          if (typeof value === 'string' && value) values.push(value);
          return values.length <= this.maxListed;
        },
        { ...options, headers: ADVANCED_QUERY },
      );
      await pages.iterate();
      if (values.length > this.maxListed) {
        throw new GraphApiError(
          'UnexpectedResponse',
          `Microsoft Graph listing for ${subject} has more than ${this.maxListed} entries; stopped`,
        );
      }
      return values;
    });
  }

  /**
   * One operation under one signal (timeout and cancellation) for every request it makes, the token request
   * included; its failure is classified and reported to onApiError once.
   */
  private async run<T>(operation: GraphOperation, send: Send<T>, { retry = true } = {}): Promise<T> {
    const signal = callSignal(this.timeoutMs, this.cancellation);
    let tokenFailure: unknown;
    const credential: TokenCredential = {
      getToken: async (scopes, options) => {
        try {
          return await this.credential.getToken(scopes, options);
        } catch (error) {
          tokenFailure = error;
          throw error;
        }
      },
    };
    const options: GraphRequestOptions = {
      options: { signal },
      middlewareOptions: [
        new AuthenticationHandlerOptions(
          new TokenCredentialAuthenticationProvider(credential, { scopes: [this.scope], getTokenOptions: { abortSignal: signal } }),
        ),
        ...(retry ? [] : [noRetries()]),
      ],
    };
    const request = (path: string) =>
      this.sdk
        .api(path)
        .options(options.options ?? {})
        .middlewareOptions(options.middlewareOptions ?? []);
    try {
      return await send(request, options);
    } catch (error) {
      throwIfCancelled(this.cancellation);
      const failure = toGraphApiError(error, operation, {
        host: this.host,
        scope: this.scope,
        timeoutMs: this.timeoutMs,
        timedOut: signal.aborted,
        tokenFailure,
      });
      const code = failure.details.httpStatus ?? failure.details.noAnswer;
      if (code !== undefined) this.onApiError?.(String(code));
      throw failure;
    }
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
  if (!id || !userPrincipalName)
    throw new GraphApiError('UnexpectedResponse', `Microsoft Graph answered user ${asked} without id or userPrincipalName`);
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

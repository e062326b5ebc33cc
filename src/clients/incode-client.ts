import type { ApiErrorObserver } from '../observability/api-errors';
import { callSignal, throwIfCancelled, type CancellationSource } from './abort';
import type { ConfirmedSessionResult, ConfirmedSessionState } from '../shared/types';
import { INCODE_USER_NOT_FOUND, IncodeApiError, parseIncodeErrorBody, retryAfterMs } from './incode-errors';

/** The six values Incode's guide keeps in Key Vault. */
export interface IncodeSettings {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  integrationReference: string;
  authUrl: string;
  apiBaseUrl: string;
}

export interface IncodeSettingsSource {
  get(): Promise<IncodeSettings>;
  /** Called when Incode rejects the credentials: they may have been rotated in Key Vault. */
  refresh(): Promise<IncodeSettings>;
}

export interface CreateSessionRequest {
  loginHint: string;
  externalCustomerId: string;
  linkValidityMinutes: number;
  /** Incode emails the link to the user itself. */
  notifyEmail?: string;
}

export interface CreatedSession {
  interviewId: string;
  url: string;
}

interface CachedToken {
  value: string;
  expiresAt: number;
  clientId: string;
}

/** Tokens are reused until this long before they expire, so a request never leaves with a dying token. */
const TOKEN_EXPIRY_MARGIN_MS = 60_000;

/**
 * Incode Omni B2B client: OAuth2 client-credentials token (cached), session creation and result read-back.
 * Errors are classified (see IncodeApiError) and never include credentials or tokens.
 */
export class IncodeClient {
  private token?: CachedToken;
  private tokenRequest?: Promise<CachedToken>;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly onApiError?: ApiErrorObserver;
  private readonly cancellation?: CancellationSource;

  constructor(
    private readonly settings: IncodeSettingsSource,
    /** `onApiError` hears of every failed operation (after the credential refresh it retries with) for `itdr_api_errors_total`. */
    /** `cancellation` aborts the call in progress (the worker passes the activity's cancellation signal). */
    options: {
      fetch?: typeof fetch;
      /** INCODE_HTTP_TIMEOUT: the configuration holds its one default. */
      timeoutMs: number;
      now?: () => number;
      onApiError?: ApiErrorObserver;
      cancellation?: CancellationSource;
    },
  ) {
    this.cancellation = options.cancellation;
    this.fetchImpl = options.fetch ?? fetch;
    this.onApiError = options.onApiError;
    this.timeoutMs = options.timeoutMs;
    this.now = options.now ?? Date.now;
  }

  async createSession(request: CreateSessionRequest): Promise<CreatedSession> {
    const body = await this.callApi('POST', '/omni/b2b/onboarding/request-new', (settings) => ({
      integrationReference: settings.integrationReference,
      loginHint: request.loginHint,
      externalCustomerId: request.externalCustomerId,
      // The field name differs between integrations; Incode ignores the one it does not know.
      linkValidityInMinutes: request.linkValidityMinutes,
      linkExpiryMinutes: request.linkValidityMinutes,
      ...(request.notifyEmail ? { notification: { type: 'EMAIL', email: request.notifyEmail } } : {}),
    }));
    const interviewId = stringField(body, 'interviewId');
    const url = stringField(body, 'url');
    if (!interviewId || !url) {
      throw new IncodeApiError('UnexpectedResponse', 'Incode request-new answered without interviewId or url');
    }
    return { interviewId, url };
  }

  /**
   * Asks Incode for a fresh token with the client credentials from Key Vault (nothing cached is used or kept):
   * the doctor's check. Throws IncodeApiError (CredentialsRejected, Network, ...) or SecretUnavailableError.
   */
  async verifyCredentials(): Promise<{ expiresAt: number }> {
    const token = await this.operation(async () => this.fetchToken(await this.settings.refresh()));
    return { expiresAt: token.expiresAt };
  }

  /**
   * Reads a session's result back from Incode. The B2B read route is not publicly documented; this uses the
   * Omni status and score routes, kept behind this one method so a change touches one place.
   */
  async getSessionResult(interviewId: string): Promise<ConfirmedSessionResult> {
    const query = `?id=${encodeURIComponent(interviewId)}`;
    const status = await this.callApi('GET', `/omni/get/onboarding/status${query}`);
    const onboardingStatus = stringField(status, 'onboardingStatus') ?? 'UNKNOWN';
    const checkedAt = new Date(this.now()).toISOString();
    if (onboardingStatus === 'UNKNOWN') {
      return { interviewId, state: 'NotStarted', onboardingStatus, checkedAt };
    }
    const reviewed = onboardingStatus === 'MANUAL_REVIEW_APPROVED' || onboardingStatus === 'MANUAL_REVIEW_REJECTED';
    if (onboardingStatus !== 'ONBOARDING_FINISHED' && !reviewed) {
      return { interviewId, state: 'InProgress', onboardingStatus, checkedAt };
    }
    const score = await this.callApi('GET', `/omni/get/score${query}`);
    const overall = (score as { overall?: { status?: unknown } }).overall;
    const scoreStatus = typeof overall?.status === 'string' ? overall.status : 'UNKNOWN';
    return {
      interviewId,
      // A reviewer's decision overrides the automatic score.
      state: reviewed ? (onboardingStatus === 'MANUAL_REVIEW_APPROVED' ? 'Succeeded' : 'Failed') : stateFromScore(scoreStatus),
      onboardingStatus,
      scoreStatus,
      reportedLoginHint: stringField(score, 'loginHint')?.toLowerCase(),
      reportedExternalCustomerId: stringField(score, 'externalCustomerId'),
      reportedIdentity: identityFromScore(score),
      checkedAt,
    };
  }

  /** One operation: reported to onApiError once if it fails with an HTTP error or no answer, whatever was retried. */
  private async operation<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const code = error instanceof IncodeApiError ? (error.details.httpStatus ?? error.details.noAnswer) : undefined;
      if (code !== undefined) this.onApiError?.('incode', String(code));
      throw error;
    }
  }

  private callApi(method: 'GET' | 'POST', path: string, buildBody?: (settings: IncodeSettings) => unknown): Promise<unknown> {
    return this.operation(() => this.attempts(method, path, buildBody));
  }

  private async attempts(method: 'GET' | 'POST', path: string, buildBody?: (settings: IncodeSettings) => unknown): Promise<unknown> {
    let settings = await this.settings.get();
    for (let attempt = 0; ; attempt++) {
      let token: CachedToken;
      try {
        token = await this.accessToken(settings);
      } catch (error) {
        // Refused client credentials may have been rotated in Key Vault: re-read them once.
        if (attempt > 0 || !(error instanceof IncodeApiError) || error.kind !== 'CredentialsRejected') throw error;
        settings = await this.settings.refresh();
        continue;
      }
      const response = await this.send(`${trimSlash(settings.apiBaseUrl)}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token.value}`,
          'x-api-key': settings.apiKey,
          'api-version': '1.0',
          accept: 'application/json',
          ...(buildBody ? { 'content-type': 'application/json' } : {}),
        },
        body: buildBody ? JSON.stringify(buildBody(settings)) : undefined,
      });
      if (response.status === 401 && attempt === 0) {
        // The token may have been revoked or the secrets rotated: start over once with fresh ones.
        this.token = undefined;
        settings = await this.settings.refresh();
        continue;
      }
      return this.readJson(response, path);
    }
  }

  private async accessToken(settings: IncodeSettings): Promise<CachedToken> {
    const cached = this.token;
    if (cached && cached.clientId === settings.clientId && cached.expiresAt - TOKEN_EXPIRY_MARGIN_MS > this.now()) {
      return cached;
    }
    // One token request at a time, however many activities ask at once.
    this.tokenRequest ??= this.fetchToken(settings).finally(() => {
      this.tokenRequest = undefined;
    });
    this.token = await this.tokenRequest;
    return this.token;
  }

  private async fetchToken(settings: IncodeSettings): Promise<CachedToken> {
    const response = await this.send(`${trimSlash(settings.authUrl)}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'openid',
        client_id: settings.clientId,
        client_secret: settings.clientSecret,
      }).toString(),
    });
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new IncodeApiError(
        'CredentialsRejected',
        `Incode refused the client credentials (HTTP ${response.status}); check the Key Vault secrets incode-client-id and ` +
          `incode-client-secret`,
        { httpStatus: response.status },
      );
    }
    const body = await this.readJson(response, '/oauth2/token');
    const value = stringField(body, 'access_token');
    if (!value) throw new IncodeApiError('UnexpectedResponse', 'Incode token response has no access_token');
    const expiresIn = Number((body as Record<string, unknown>).expires_in);
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 5 * 60_000;
    return { value, expiresAt: this.now() + lifetimeMs, clientId: settings.clientId };
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { ...init, signal: callSignal(this.timeoutMs, this.cancellation) });
    } catch (error) {
      throwIfCancelled(this.cancellation);
      const timedOut = (error as Error).name === 'TimeoutError';
      const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : (error as Error).message;
      throw new IncodeApiError('Network', `Incode unreachable at ${new URL(url).host}: ${reason}`, {
        noAnswer: timedOut ? 'timeout' : 'network',
      });
    }
    return response;
  }

  private async readJson(response: Response, path: string): Promise<unknown> {
    const text = await response.text();
    if (response.ok) {
      try {
        return JSON.parse(text);
      } catch {
        throw new IncodeApiError('UnexpectedResponse', `Incode ${path} answered HTTP ${response.status} with a body that is not JSON`);
      }
    }
    const parsed = parseIncodeErrorBody(text);
    const details = { httpStatus: response.status, incodeCode: parsed.code, incodeMessage: parsed.message };
    const suffix = parsed.code || parsed.message ? ` (Incode ${[parsed.code, parsed.message].filter(Boolean).join(': ')})` : '';
    if (parsed.code === INCODE_USER_NOT_FOUND) {
      throw new IncodeApiError('UserNotFound', `The user is not in the Incode integration's directory (Incode error 5504)`, details);
    }
    switch (response.status) {
      case 406:
        throw new IncodeApiError(
          'ApiVersionRejected',
          `Incode answered 406 Not Acceptable for ${path}: the api-version header was refused`,
          details,
        );
      case 401:
      case 403:
        throw new IncodeApiError(
          'CredentialsRejected',
          `Incode rejected the credentials for ${path} (HTTP ${response.status})${suffix}; check the API key and client secrets ` +
            `in Key Vault`,
          details,
        );
      case 404:
        throw new IncodeApiError('NotFound', `Incode has no such resource: ${path.split('?')[0]}${suffix}`, details);
      case 429:
        throw new IncodeApiError('RateLimited', `Incode rate-limited ${path.split('?')[0]} (HTTP 429)`, {
          ...details,
          retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.now()),
        });
      default:
        if (response.status >= 500) {
          throw new IncodeApiError('ServerError', `Incode failed on ${path.split('?')[0]} (HTTP ${response.status})${suffix}`, details);
        }
        throw new IncodeApiError('BadRequest', `Incode refused ${path.split('?')[0]} (HTTP ${response.status})${suffix}`, details);
    }
  }
}

/** The verified document's name and birth date, when Incode reports them (field name `ocr` assumed). */
function identityFromScore(score: unknown): ConfirmedSessionResult['reportedIdentity'] {
  const ocr = typeof score === 'object' && score !== null ? (score as { ocr?: unknown }).ocr : undefined;
  if (typeof ocr !== 'object' || ocr === null) return undefined;
  const identity = {
    firstName: stringField(ocr, 'firstName'),
    lastName: stringField(ocr, 'lastName'),
    birthDate: stringField(ocr, 'birthDate'),
  };
  return identity.firstName || identity.lastName || identity.birthDate ? identity : undefined;
}

function stateFromScore(status: string): ConfirmedSessionState {
  switch (status) {
    case 'OK':
      return 'Succeeded';
    case 'FAIL':
      return 'Failed';
    case 'MANUAL':
    case 'WARN':
      return 'PendingReview';
    default:
      // A finished session without a readable score is not evidence of anything: keep waiting.
      return 'InProgress';
  }
}

function stringField(body: unknown, key: string): string | undefined {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

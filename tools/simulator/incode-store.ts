import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebhookTarget } from './options';
import type { DeliveryAttempt, SessionEventType, SessionWebhookPayload } from './webhook-sender';

/** `pending-review`: Incode routed the session to its manual review (score MANUAL). */
export type SessionOutcome = 'succeeded' | 'failed' | 'pending-review';
export const SESSION_OUTCOMES: readonly SessionOutcome[] = ['succeeded', 'failed', 'pending-review'];
export type SessionState = 'pending' | SessionOutcome;
export type OnboardingStatus = 'UNKNOWN' | 'ONBOARDING_FINISHED';
export type ScoreStatus = 'OK' | 'FAIL' | 'MANUAL' | 'UNKNOWN';

export interface SessionNotification {
  type: 'EMAIL' | 'SMS' | 'EMAIL_AND_SMS';
  email?: string;
  phone?: string;
}

export interface WebhookResult {
  delivered: boolean;
  attempts: number;
  lastStatus: number | null;
}

export interface IncodeSession {
  interviewId: string;
  loginHint: string;
  externalCustomerId?: string;
  notification?: SessionNotification;
  createdAt: Date;
  expiresAt: Date;
  state: SessionState;
  completedAt?: Date;
  webhook?: WebhookResult;
  /** Whom Incode reports as verified, when a test makes it differ from the login hint (another person passed). */
  verifiedLoginHint?: string;
  /** Name and birth date read from the verified document (reported by the score as `ocr`), when a test sets them. */
  verifiedIdentity?: VerifiedIdentity;
}

/** What the document said; birthDate as YYYY-MM-DD. */
export interface VerifiedIdentity {
  firstName?: string;
  lastName?: string;
  birthDate?: string;
}

export interface WebhookDelivery extends DeliveryAttempt {
  interviewId: string;
  eventType: SessionEventType;
  url: string;
}

export interface CompletionResult {
  interviewId: string;
  outcome: SessionOutcome;
  webhook: WebhookResult;
}

export type SessionErrorKind = 'BadOutcome' | 'NotFound' | 'AlreadyFinished' | 'Expired';

export class IncodeSessionError extends Error {
  override name = 'IncodeSessionError';
  constructor(
    readonly kind: SessionErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface IncodeCredentials {
  clientId: string;
  clientSecret: string;
  apiKey: string;
  integrationReference: string;
}

export type WebhookDeliverer = (target: WebhookTarget, payload: SessionWebhookPayload) => Promise<DeliveryAttempt[]>;

export const DEFAULT_LINK_MINUTES = 1440;

/** What DEV_PERSIST=1 keeps of Incode: directory, sessions and deliveries (credentials and tokens are per run). */
export interface IncodeSnapshot {
  directory: string[];
  sessions: IncodeSession[];
  deliveries: WebhookDelivery[];
}

/** Incode's state: credentials, directory, tokens, sessions and webhook deliveries. */
export class IncodeStore {
  private readonly directory = new Set<string>();
  private readonly sessions = new Map<string, IncodeSession>();
  private readonly tokens = new Map<string, number>();
  private readonly deliveries: WebhookDelivery[] = [];
  private credentials: IncodeCredentials;
  /** Every POST /oauth2/token, accepted or not: tests assert token caching with it. */
  tokenRequestCount = 0;
  /** When true, finishing a session sends no webhook (a lost webhook): clients must read the result back. */
  dropWebhooks = false;
  webhookTarget?: WebhookTarget;

  constructor(
    credentials: IncodeCredentials,
    directory: string[],
    readonly tokenLifetimeSeconds: number,
    private readonly deliver: WebhookDeliverer,
    webhookTarget?: WebhookTarget,
  ) {
    this.credentials = { ...credentials };
    for (const email of directory) this.addDirectoryUser(email);
    this.webhookTarget = webhookTarget;
  }

  snapshot(): IncodeSnapshot {
    return { directory: [...this.directory], sessions: [...this.sessions.values()], deliveries: [...this.deliveries] };
  }

  /** Adds a snapshot's directory to this one's and replaces sessions and deliveries with the snapshot's. */
  restore(snapshot: IncodeSnapshot): void {
    for (const email of snapshot.directory) this.addDirectoryUser(email);
    this.sessions.clear();
    for (const session of snapshot.sessions) this.sessions.set(session.interviewId.toLowerCase(), session);
    this.deliveries.splice(0, this.deliveries.length, ...snapshot.deliveries);
  }

  get config(): Readonly<IncodeCredentials> {
    return { ...this.credentials };
  }

  /** Changes credentials as a rotation in Incode's dashboard would; tokens already issued stay valid. */
  rotateCredentials(change: Partial<Omit<IncodeCredentials, 'integrationReference'>>): void {
    this.credentials = { ...this.credentials, ...change };
  }

  addDirectoryUser(email: string): void {
    this.directory.add(email.trim().toLowerCase());
  }

  removeDirectoryUser(email: string): void {
    this.directory.delete(email.trim().toLowerCase());
  }

  hasDirectoryUser(email: string): boolean {
    return this.directory.has(email.trim().toLowerCase());
  }

  clientMatches(clientId: string | undefined, clientSecret: string | undefined): boolean {
    return sameSecret(clientId, this.credentials.clientId) && sameSecret(clientSecret, this.credentials.clientSecret);
  }

  apiKeyMatches(apiKey: string | undefined): boolean {
    return sameSecret(apiKey, this.credentials.apiKey);
  }

  issueToken(): { accessToken: string; expiresIn: number } {
    const now = Date.now();
    for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
    const accessToken = randomBytes(32).toString('base64url');
    this.tokens.set(accessToken, now + this.tokenLifetimeSeconds * 1000);
    return { accessToken, expiresIn: this.tokenLifetimeSeconds };
  }

  isLiveToken(token: string): boolean {
    const expiresAt = this.tokens.get(token);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  /** Invalidates every Incode token (e.g. to test a client's recovery from a 401). */
  expireTokens(): void {
    this.tokens.clear();
  }

  createSession(input: {
    loginHint: string;
    externalCustomerId?: string;
    notification?: SessionNotification;
    linkMinutes?: number;
  }): IncodeSession {
    const createdAt = new Date();
    const session: IncodeSession = {
      interviewId: newInterviewId(createdAt),
      loginHint: input.loginHint,
      externalCustomerId: input.externalCustomerId,
      notification: input.notification,
      createdAt,
      expiresAt: new Date(createdAt.getTime() + (input.linkMinutes ?? DEFAULT_LINK_MINUTES) * 60_000),
      state: 'pending',
    };
    this.sessions.set(session.interviewId, session);
    return copySession(session);
  }

  getSession(interviewId: string): IncodeSession | undefined {
    const session = this.sessions.get(interviewId.toLowerCase());
    return session && copySession(session);
  }

  listSessions(): IncodeSession[] {
    return [...this.sessions.values()].map(copySession);
  }

  /** Moves a session's expiry (tests of expired links). */
  setSessionExpiry(interviewId: string, expiresAt: Date): void {
    const session = this.sessions.get(interviewId.toLowerCase());
    if (!session) throw new IncodeSessionError('NotFound', `no session ${interviewId}`);
    session.expiresAt = expiresAt;
  }

  isExpired(session: IncodeSession): boolean {
    return session.state === 'pending' && session.expiresAt.getTime() <= Date.now();
  }

  onboardingStatus(session: IncodeSession): OnboardingStatus {
    return session.state === 'pending' ? 'UNKNOWN' : 'ONBOARDING_FINISHED';
  }

  scoreStatus(session: IncodeSession): ScoreStatus {
    if (session.state === 'succeeded') return 'OK';
    if (session.state === 'failed') return 'FAIL';
    if (session.state === 'pending-review') return 'MANUAL';
    return 'UNKNOWN';
  }

  webhookDeliveries(): WebhookDelivery[] {
    return this.deliveries.map((delivery) => ({ ...delivery }));
  }

  /**
   * Finishes a pending session as the user would, then sends the session webhook (unless dropped) and waits
   * for its delivery, retry included.
   */
  async completeSession(
    interviewId: string,
    outcome: string,
    options: { verifiedLoginHint?: string; verifiedIdentity?: VerifiedIdentity } = {},
  ): Promise<CompletionResult> {
    if (!SESSION_OUTCOMES.includes(outcome as SessionOutcome)) {
      throw new IncodeSessionError('BadOutcome', `outcome must be one of ${SESSION_OUTCOMES.map((value) => `"${value}"`).join(', ')}`);
    }
    const session = this.sessions.get(interviewId.toLowerCase());
    if (!session) throw new IncodeSessionError('NotFound', `no session ${interviewId}`);
    if (session.state !== 'pending')
      throw new IncodeSessionError('AlreadyFinished', `session ${session.interviewId} is already ${session.state}`);
    if (this.isExpired(session)) throw new IncodeSessionError('Expired', `session ${session.interviewId} has expired`);
    // Set before any await, so a concurrent second completion is refused.
    session.state = outcome as SessionOutcome;
    session.completedAt = new Date();
    if (options.verifiedLoginHint) session.verifiedLoginHint = options.verifiedLoginHint.toLowerCase();
    if (options.verifiedIdentity) session.verifiedIdentity = { ...options.verifiedIdentity };
    const webhook = await this.sendWebhook(session, outcome as SessionOutcome);
    session.webhook = webhook;
    return { interviewId: session.interviewId, outcome: outcome as SessionOutcome, webhook };
  }

  private async sendWebhook(session: IncodeSession, outcome: SessionOutcome): Promise<WebhookResult> {
    const target = this.webhookTarget;
    if (this.dropWebhooks || !target) return { delivered: false, attempts: 0, lastStatus: null };
    const eventType: SessionEventType =
      outcome === 'succeeded' ? 'SESSION_SUCCEEDED' : outcome === 'failed' ? 'SESSION_FAILED' : 'SESSION_PENDING_REVIEW';
    const attempts = await this.deliver(target, {
      eventType,
      interviewId: session.interviewId,
      ...(session.externalCustomerId !== undefined ? { externalCustomerId: session.externalCustomerId } : {}),
      loginHint: session.loginHint,
      timestamp: (session.completedAt ?? new Date()).toISOString(),
    });
    for (const attempt of attempts) this.deliveries.push({ ...attempt, interviewId: session.interviewId, eventType, url: target.url });
    const last = attempts[attempts.length - 1];
    return { delivered: last?.status === 200, attempts: attempts.length, lastStatus: last?.status ?? null };
  }
}

// Incode interview ids look like MongoDB ObjectIds: 4 bytes of seconds then 8 random bytes, 24 hex chars.
function newInterviewId(createdAt: Date): string {
  const seconds = Buffer.alloc(4);
  seconds.writeUInt32BE(Math.floor(createdAt.getTime() / 1000));
  return seconds.toString('hex') + randomBytes(8).toString('hex');
}

function copySession(session: IncodeSession): IncodeSession {
  const copy = { ...session, webhook: session.webhook && { ...session.webhook } };
  if (session.verifiedIdentity) copy.verifiedIdentity = { ...session.verifiedIdentity };
  return copy;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

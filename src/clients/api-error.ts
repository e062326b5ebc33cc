/** What every classified Incode or Graph failure carries, besides its service's own fields. */
export interface ServiceErrorDetails {
  httpStatus?: number;
  retryAfterMs?: number;
  /** Set when no HTTP answer came: the call timed out or the network failed. */
  noAnswer?: 'timeout' | 'network';
}

/** Throttling, server errors and lost connections pass; every other kind needs a change first. */
const RETRYABLE_KINDS: ReadonlySet<string> = new Set(['RateLimited', 'ServerError', 'Network']);

/**
 * A failure of an HTTP service we call ourselves (Incode, Microsoft Graph), classified into a kind the
 * activities map to Temporal failures. Neither the message nor the details carry a credential or token.
 */
export class ServiceApiError<Kind extends string, Details extends ServiceErrorDetails> extends Error {
  constructor(
    /** Prefix of the retryable failure types: `IncodeRateLimited`, `GraphServerError`. */
    readonly service: 'Incode' | 'Graph',
    readonly kind: Kind,
    message: string,
    readonly details: Details,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }

  /** What the Temporal failure carries as details. */
  failureDetails(): { kind: Kind } & Details {
    return { kind: this.kind, ...this.details };
  }
}

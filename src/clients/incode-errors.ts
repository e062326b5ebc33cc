import { ServiceApiError, type ServiceErrorDetails } from './api-error';

/** What went wrong talking to Incode, in terms the workflow can act on. */
export type IncodeErrorKind =
  | 'ApiVersionRejected'
  | 'UserNotFound'
  | 'CredentialsRejected'
  | 'BadRequest'
  | 'NotFound'
  | 'RateLimited'
  | 'ServerError'
  | 'Network'
  | 'UnexpectedResponse';

export interface IncodeErrorDetails extends ServiceErrorDetails {
  /** Incode's own error code, e.g. 5504, when the body carries one. */
  incodeCode?: number;
  /** Incode's message, trimmed; never contains our credentials. */
  incodeMessage?: string;
}

export class IncodeApiError extends ServiceApiError<IncodeErrorKind, IncodeErrorDetails> {
  override name = 'IncodeApiError';

  constructor(kind: IncodeErrorKind, message: string, details: IncodeErrorDetails = {}) {
    super('Incode', kind, message, details);
  }
}

/** Incode documents 5504 as "Employee by login factor cannot be found"; the body shape is not documented. */
export const INCODE_USER_NOT_FOUND = 5504;

/**
 * Pulls an Incode error code and message out of an error body whose shape is not documented: Spring-style
 * `{status, error, message}`, `{code, message}` or `{errorCode, ...}`. Kept in one place on purpose.
 */
export function parseIncodeErrorBody(text: string): { code?: number; message?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const code = /\b(5\d{3})\b/.exec(text)?.[1];
    return { code: code ? Number(code) : undefined, message: text.slice(0, 300) || undefined };
  }
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const candidates = [record.code, record.errorCode, record.status, (record.error as Record<string, unknown> | undefined)?.code];
  const code = candidates.map((value) => Number(value)).find((value) => Number.isInteger(value) && value >= 1000);
  const messageValue = [record.message, record.errorMessage, record.error_description, record.error].find(
    (value) => typeof value === 'string',
  );
  return { code, message: typeof messageValue === 'string' ? messageValue.slice(0, 300) : undefined };
}

/** `Retry-After` is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

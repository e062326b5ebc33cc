import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The confirmation page's link: a signed, expiring capability (no login) bound to one verification and one
 * user. The token is `<payload>.<mac>`, both base64url; the payload carries the workflow id, the user and the
 * expiry (the verification's deadline), the mac is HMAC-SHA256 over it, so the same verification always gets
 * the same link (repeated requests, reminders). Without the key a token can be neither forged
 * nor altered; with a tampered or expired one the page changes nothing. The gateway (page) and the worker
 * (links in e-mails) share the key.
 */
export interface ConfirmationClaims {
  workflowId: string;
  user: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export type TokenCheck = { ok: true; claims: ConfirmationClaims } | { ok: false; reason: 'invalid' | 'expired' };

/** Path of the page under the gateway's public URL. */
export const CONFIRMATION_PATH = '/confirm';

/** A key for the links derived from the payload encryption key, when CONFIRMATION_LINK_KEY is not set. */
export function deriveLinkKey(payloadKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', payloadKey, Buffer.alloc(0), 'itdr-verify confirmation link v1', 32));
}

export class ConfirmationLinks {
  constructor(
    private readonly key: Buffer,
    /** The gateway as users reach it, e.g. https://verify.contoso.com; a function when known only once it listens. */
    private readonly base: string | (() => string),
  ) {
    if (key.length < 32) throw new Error('the confirmation link key must be at least 32 bytes');
  }

  get baseUrl(): string {
    return (typeof this.base === 'string' ? this.base : this.base()).replace(/\/+$/, '');
  }

  token(claims: ConfirmationClaims): string {
    const payload = Buffer.from(JSON.stringify({ w: claims.workflowId, u: claims.user.toLowerCase(), e: claims.expiresAt })).toString(
      'base64url',
    );
    return `${payload}.${this.mac(payload)}`;
  }

  url(claims: ConfirmationClaims): string {
    return `${this.baseUrl}${CONFIRMATION_PATH}/${this.token(claims)}`;
  }

  verify(token: string, now = Date.now()): TokenCheck {
    const match = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return { ok: false, reason: 'invalid' };
    const [, payload, mac] = match;
    const expected = Buffer.from(this.mac(payload));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return { ok: false, reason: 'invalid' };
    let parsed: { w?: unknown; u?: unknown; e?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (typeof parsed.w !== 'string' || typeof parsed.u !== 'string' || typeof parsed.e !== 'number')
      return { ok: false, reason: 'invalid' };
    if (parsed.e <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { workflowId: parsed.w, user: parsed.u, expiresAt: parsed.e } };
  }

  /** The per-form nonce: only a page rendered for this token carries it, so a form posted from elsewhere lacks it. */
  formNonce(token: string): string {
    return createHmac('sha256', this.key).update(`form\u0000${token}`).digest('base64url');
  }

  nonceMatches(token: string, nonce: unknown): boolean {
    if (typeof nonce !== 'string') return false;
    const expected = Buffer.from(this.formNonce(token));
    const given = Buffer.from(nonce);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`link\u0000${payload}`).digest('base64url');
  }
}

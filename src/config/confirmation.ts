import { z } from 'zod';
import { deriveLinkKey } from '../confirmation/confirmation-link';
import { parseEnv } from './parse';
import { payloadKeyShape } from './temporal';

/**
 * The confirmation page's links (gateway: the page; worker: the links in e-mails). CONFIRMATION_PAGE_URL is
 * the gateway as users reach it; CONFIRMATION_LINK_KEY signs the links (default: derived from
 * PAYLOAD_ENCRYPTION_KEY, which both processes hold).
 */
export const confirmationShape = {
  CONFIRMATION_PAGE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })
    .refine((value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    }, 'must be https:// (http only for a loopback host)')
    .refine((value) => new URL(value).search === '' && new URL(value).hash === '', 'must have no query or fragment')
    .optional(),
  CONFIRMATION_LINK_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length >= 32, 'must be at least 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
};

export interface ConfirmationConfig {
  /** Absent: the gateway uses the address it listens on (local use); the worker cannot mail page links. */
  pageUrl?: string;
  linkKey: Buffer;
}

export function confirmationFrom(env: z.infer<z.ZodObject<typeof confirmationShape & typeof payloadKeyShape>>): ConfirmationConfig {
  return {
    pageUrl: env.CONFIRMATION_PAGE_URL?.replace(/\/+$/, ''),
    linkKey: env.CONFIRMATION_LINK_KEY
      ? Buffer.from(env.CONFIRMATION_LINK_KEY, 'base64')
      : deriveLinkKey(Buffer.from(env.PAYLOAD_ENCRYPTION_KEY, 'base64')),
  };
}

/** CONFIRMATION_PAGE_URL and the links' key alone (the operator CLI's `resend --show-link`). */
export function loadConfirmationConfig(env: NodeJS.ProcessEnv = process.env): ConfirmationConfig {
  return confirmationFrom(parseEnv(z.object({ ...confirmationShape, ...payloadKeyShape }), env, 'confirmation link'));
}

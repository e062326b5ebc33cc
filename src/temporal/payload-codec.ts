import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';

const ENCODING = 'binary/encrypted';
const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The error code the gateway answers and the CLI names when payloads do not decrypt with the configured key. */
export const PAYLOAD_KEY_MISMATCH = 'payload_key_mismatch';

/**
 * A payload that this process's PAYLOAD_ENCRYPTION_KEY cannot open: written with another key (a regenerated dev
 * key, a rotation without the old key kept for decryption). Its message starts with the code, so it stays
 * recognisable after Temporal carries it across processes as a plain failure message.
 */
export class PayloadKeyMismatchError extends ValueError {
  override name = 'PayloadKeyMismatchError';
  constructor(keyId: string, known: boolean) {
    super(
      `${PAYLOAD_KEY_MISMATCH}: ${
        known
          ? `a payload encrypted under key id "${keyId}" does not decrypt with this PAYLOAD_ENCRYPTION_KEY: it was written with another key`
          : `no payload decryption key with id "${keyId}" is configured`
      } (set PAYLOAD_ENCRYPTION_KEY to the key the verifications were started with)`,
    );
  }
}

/** Whether `error`, or one of its causes, is a payload key mismatch (here, or in the worker that answered). */
export function isPayloadKeyMismatch(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof PayloadKeyMismatchError) return true;
    if (String((current as Error).message ?? '').includes(`${PAYLOAD_KEY_MISMATCH}:`)) return true;
  }
  return false;
}

/**
 * AES-256-GCM over every payload: workflow inputs, activity results and update answers carry the
 * verification link and the user's identity, and Temporal stores them in its history. With this codec
 * the server (and anyone reading its database or the Web UI without the key) sees ciphertext only.
 * The key id travels with each payload so keys can be rotated: keep old keys in `decryptionKeys`.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  constructor(
    private readonly current: { id: string; key: Buffer },
    decryptionKeys: Array<{ id: string; key: Buffer }> = [],
  ) {
    if (current.key.length !== 32) throw new Error('Payload encryption key must be 32 bytes');
    this.keys = new Map([current, ...decryptionKeys].map((entry) => [entry.id, entry.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const plain = Buffer.from(encodePayload(payload));
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.current.id),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.keys.get(keyId);
      if (!key) throw new PayloadKeyMismatchError(keyId, false);
      const sealed = Buffer.from(payload.data ?? []);
      const iv = sealed.subarray(0, IV_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
      } catch {
        // GCM's tag check fails ("unable to authenticate data"): same id, other key.
        throw new PayloadKeyMismatchError(keyId, true);
      }
      return decodePayload(plain);
    });
  }
}

// A Payload is a protobuf message; JSON with base64 fields is enough to round-trip it inside the envelope.
function encodePayload(payload: Payload): string {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = Buffer.from(value).toString('base64');
  return JSON.stringify({ metadata, data: Buffer.from(payload.data ?? []).toString('base64') });
}

function decodePayload(plain: Buffer): Payload {
  const parsed = JSON.parse(plain.toString('utf8')) as { metadata: Record<string, string>; data: string };
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(parsed.metadata)) metadata[key] = Buffer.from(value, 'base64');
  return { metadata, data: Buffer.from(parsed.data, 'base64') };
}

import { z } from 'zod';
import type { TemporalConfig } from '../config/config';
import { ConfigError, parseEnv } from '../config/parse';

/**
 * The CLI reads the same TEMPORAL_* and PAYLOAD_ENCRYPTION_* variables as the gateway and the worker, with the
 * same defaults and checks (the shape mirrors `temporalShape` in src/config/config.ts), and nothing else: an
 * operator needs no Azure or Incode settings to steer verifications.
 */
const payloadKeyShape = {
  PAYLOAD_ENCRYPTION_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
  PAYLOAD_ENCRYPTION_KEY_ID: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).default('k1'),
};

const temporalShape = {
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('itdr-verify'),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  ...payloadKeyShape,
};

export type PayloadKey = TemporalConfig['payloadKey'];

/** Everything needed to talk to Temporal and to read and write the encrypted payloads. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const parsed = parseEnv(temporalShape, env, 'CLI');
  if (Boolean(parsed.TEMPORAL_TLS_CERT_PATH) !== Boolean(parsed.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError('Invalid CLI configuration:\n  TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)');
  }
  return Object.freeze({
    address: parsed.TEMPORAL_ADDRESS,
    namespace: parsed.TEMPORAL_NAMESPACE,
    taskQueue: parsed.TEMPORAL_TASK_QUEUE,
    tls: parsed.TEMPORAL_TLS_CERT_PATH ? { certPath: parsed.TEMPORAL_TLS_CERT_PATH, keyPath: parsed.TEMPORAL_TLS_KEY_PATH! } : undefined,
    apiKey: parsed.TEMPORAL_API_KEY,
    payloadKey: payloadKeyFrom(parsed),
  });
}

/** Replay needs no server, only the key, and only when the history's payloads are encrypted. */
export function loadPayloadKey(env: NodeJS.ProcessEnv = process.env): PayloadKey | undefined {
  if (!env.PAYLOAD_ENCRYPTION_KEY?.trim()) return undefined;
  return payloadKeyFrom(parseEnv(payloadKeyShape, env, 'CLI'));
}

function payloadKeyFrom(parsed: { PAYLOAD_ENCRYPTION_KEY: string; PAYLOAD_ENCRYPTION_KEY_ID: string }): PayloadKey {
  return { id: parsed.PAYLOAD_ENCRYPTION_KEY_ID, key: Buffer.from(parsed.PAYLOAD_ENCRYPTION_KEY, 'base64') };
}

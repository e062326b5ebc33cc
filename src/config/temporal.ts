import { z } from 'zod';
import { parseEnv, reportOn } from './parse';

/**
 * TEMPORAL_* and PAYLOAD_ENCRYPTION_*: the connection to Temporal and the key of the payloads in its histories.
 * Shared by the worker, the gateway and the operator CLI, with the same defaults and checks.
 */

/** The payload encryption key (also all that replaying a history needs). */
export const payloadKeyShape = {
  PAYLOAD_ENCRYPTION_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
  PAYLOAD_ENCRYPTION_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,32}$/)
    .default('k1'),
};

export const temporalShape = {
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('itdr-verify'),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  // A self-hosted frontend's private CA: turns TLS on (server authentication) with or without a client certificate.
  TEMPORAL_TLS_CA_PATH: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  ...payloadKeyShape,
};

type TemporalEnv = z.infer<z.ZodObject<typeof temporalShape>>;

/** mTLS needs both halves of the client certificate. */
export function checkTemporal(env: Pick<TemporalEnv, 'TEMPORAL_TLS_CERT_PATH' | 'TEMPORAL_TLS_KEY_PATH'>, ctx: z.RefinementCtx): void {
  if (Boolean(env.TEMPORAL_TLS_CERT_PATH) === Boolean(env.TEMPORAL_TLS_KEY_PATH)) return;
  const missing = env.TEMPORAL_TLS_CERT_PATH ? 'TEMPORAL_TLS_KEY_PATH' : 'TEMPORAL_TLS_CERT_PATH';
  reportOn(ctx, missing, 'is required: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS)');
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** mTLS client certificate (certPath, keyPath) and/or the server's CA (caPath); absent: no TLS unless apiKey. */
  tls?: { certPath?: string; keyPath?: string; caPath?: string };
  apiKey?: string;
  payloadKey: { id: string; key: Buffer };
}

export function payloadKeyFrom(env: z.infer<z.ZodObject<typeof payloadKeyShape>>): TemporalConfig['payloadKey'] {
  return { id: env.PAYLOAD_ENCRYPTION_KEY_ID, key: Buffer.from(env.PAYLOAD_ENCRYPTION_KEY, 'base64') };
}

/** From variables that passed `checkTemporal`. */
export function temporalFrom(env: TemporalEnv): TemporalConfig {
  return Object.freeze({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    tls:
      env.TEMPORAL_TLS_CERT_PATH || env.TEMPORAL_TLS_CA_PATH
        ? { certPath: env.TEMPORAL_TLS_CERT_PATH, keyPath: env.TEMPORAL_TLS_KEY_PATH, caPath: env.TEMPORAL_TLS_CA_PATH }
        : undefined,
    apiKey: env.TEMPORAL_API_KEY,
    payloadKey: payloadKeyFrom(env),
  });
}

/** TEMPORAL_* and PAYLOAD_ENCRYPTION_* alone (the operator CLI). */
export function loadTemporalConfig(env: NodeJS.ProcessEnv, component: string): TemporalConfig {
  return temporalFrom(parseEnv(z.object(temporalShape).superRefine(checkTemporal), env, component));
}

/** PAYLOAD_ENCRYPTION_* alone (replaying a history). */
export function loadPayloadKeyConfig(env: NodeJS.ProcessEnv, component: string): TemporalConfig['payloadKey'] {
  return payloadKeyFrom(parseEnv(z.object(payloadKeyShape), env, component));
}

import { loadPayloadKeyConfig, loadTemporalConfig, type TemporalConfig } from '../config/temporal';

/**
 * The CLI reads the same TEMPORAL_* and PAYLOAD_ENCRYPTION_* variables as the gateway and the worker, with the
 * same defaults and checks, and nothing else: an operator needs no Azure or Incode settings to steer verifications.
 */
export type PayloadKey = TemporalConfig['payloadKey'];

/** Everything needed to talk to Temporal and to read and write the encrypted payloads. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  return loadTemporalConfig(env, 'CLI');
}

/** Replay needs no server, only the key, and only when the history's payloads are encrypted. */
export function loadPayloadKey(env: NodeJS.ProcessEnv = process.env): PayloadKey | undefined {
  if (!env.PAYLOAD_ENCRYPTION_KEY?.trim()) return undefined;
  return loadPayloadKeyConfig(env, 'CLI');
}

import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TemporalConfig } from '../config/temporal';
import { EncryptionCodec } from './payload-codec';

export function dataConverterFor(config: TemporalConfig): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(config.payloadKey)] };
}

/** Connection options for a dev server, a self-hosted cluster with mTLS, or Temporal Cloud with an API key. */
export async function connectionOptionsFor(config: TemporalConfig): Promise<ConnectionOptions> {
  const { certPath, keyPath, caPath } = config.tls ?? {};
  const tls = config.tls
    ? {
        ...(certPath && keyPath ? { clientCertPair: { crt: await readFile(certPath), key: await readFile(keyPath) } } : {}),
        ...(caPath ? { serverRootCACertificate: await readFile(caPath) } : {}),
      }
    : config.apiKey
      ? true
      : undefined;
  return {
    address: config.address,
    tls,
    apiKey: config.apiKey,
    metadata: config.apiKey ? { 'temporal-namespace': config.namespace } : undefined,
  };
}

/** `tracing`: the client's calls carry the current trace context to the workflows (OpenTelemetry must be started first). */
export async function createTemporalClient(
  config: TemporalConfig,
  options: { tracing?: boolean } = {},
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect(await connectionOptionsFor(config));
  const interceptors = options.tracing
    ? { workflow: [new (await import('@temporalio/interceptors-opentelemetry')).OpenTelemetryWorkflowClientInterceptor()] }
    : undefined;
  const client = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config), interceptors });
  return { client, connection };
}

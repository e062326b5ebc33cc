import { z } from 'zod';
import { azureEnvShape, resolveAzureEnvironment, type AzureEnvironment } from './azure-cloud';
import { durationSchema } from './parse';

/** The Azure section of both processes: the cloud and credential (azure-cloud.ts), and Sentinel's API. */
export const azureShape = {
  // AZURE_AUTH_MODE, AZURE_CLOUD, AZURE_CLIENT_ID, ARM_ENDPOINT, ... (see azure-cloud.ts)
  ...azureEnvShape,
  SENTINEL_API_VERSION: z.string().default('2024-09-01'),
  AZURE_HTTP_TIMEOUT: durationSchema.default(30_000),
};

export interface AzureConfig extends AzureEnvironment {
  sentinelApiVersion: string;
  httpTimeoutMs: number;
}

export function azureFrom(env: z.infer<z.ZodObject<typeof azureShape>>): AzureConfig {
  return Object.freeze({
    ...resolveAzureEnvironment(env),
    sentinelApiVersion: env.SENTINEL_API_VERSION,
    httpTimeoutMs: env.AZURE_HTTP_TIMEOUT,
  });
}

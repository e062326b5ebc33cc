import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import pino from 'pino';
import { createGatewayApp } from '../../src/gateway/app';
import { VerificationService } from '../../src/gateway/verification-service';
import type { WorkspaceRef } from '../../src/shared/types';
import { dataConverterFor } from '../../src/temporal/connection';
import { freePort } from '../../tools/dev/free-port';
import { testTemporalConfig } from '../helpers/temporal';

/**
 * How the gateway answers Temporal's failures: by the gRPC status the client reports, never by words in a
 * message. The status endpoint is used because it reaches Temporal and nothing else.
 */
describe('gateway: Temporal failures by status code', () => {
  const config = testTemporalConfig('gateway-temporal-errors');
  const workspace: WorkspaceRef = { subscriptionId: randomUUID(), resourceGroup: 'rg', workspaceName: 'law' };
  const apiKey = 'k'.repeat(32);
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  async function gatewayOn(client: Client): Promise<string> {
    const app = createGatewayApp({
      verifications: new VerificationService(client, config.taskQueue, () => [workspace]),
      // The status endpoint reads no incident from Sentinel: the intake holds only the served workspaces.
      intake: { allowedWorkspaces: [workspace] } as never,
      callers: [{ name: 'test', key: apiKey }],
      webhook: { auth: 'shared-secret', headerName: 'x-incode-webhook-secret', secret: 'x'.repeat(24) },
      linkDeadlineMs: 1000,
      bodyLimitBytes: 1024,
      logger: pino({ level: 'silent' }),
      checkTemporal: async () => undefined,
      // The status endpoint serves no confirmation page.
      confirmationLinks: {} as never,
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function status(base: string): Promise<{ status: number; code?: string; retryAfter: string | null }> {
    const response = await fetch(`${base}/api/incidents/${randomUUID()}`, { headers: { 'x-api-key': apiKey } });
    const body = (await response.json()) as { error?: { code?: string } };
    return { status: response.status, code: body.error?.code, retryAfter: response.headers.get('retry-after') };
  }

  it('an unreachable Temporal (UNAVAILABLE, wrapped by the client) is 503 temporarily_unavailable with Retry-After', async () => {
    // A port that was just free: nothing listens there.
    const port = await freePort();
    const connection = Connection.lazy({
      address: `127.0.0.1:${port}`,
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 1 }))],
    });
    closers.push(() => connection.close());
    const base = await gatewayOn(new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config) }));
    assert.deepEqual(await status(base), { status: 503, code: 'temporarily_unavailable', retryAfter: '5' });
  });

  it('a permanent failure that mentions UNAVAILABLE is not answered as a passing one', async () => {
    const connection = await Connection.connect({ address: config.address });
    closers.push(() => connection.close());
    // An unknown namespace is a configuration error: the message names it, the status is NOT_FOUND.
    const client = new Client({ connection, namespace: 'UNAVAILABLE-namespace', dataConverter: dataConverterFor(config) });
    const base = await gatewayOn(client);
    assert.deepEqual(await status(base), { status: 500, code: 'internal_error', retryAfter: null });
  });
});

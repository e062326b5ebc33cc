import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import { temporalCliPath } from '../../tools/dev/temporal-server';
import { NativeConnection, Worker } from '@temporalio/worker';
import { incodeTaskQueue, sentinelTaskQueue } from '../../src/shared/task-queues';
import { userAnswerUpdate, verificationLinkUpdate, verificationResultSignal, WORKFLOW_TYPE } from '../../src/shared/messages';
import type { ActivityAnswer } from '../../src/shared/types';
import type { identityVerification } from '../../src/workflows';
import { fakeActivities, TEST_SUBSCRIPTION_ID, testRequest, type FakeWorld } from '../helpers/fake-activities';
import { installQuietRuntime, workflowBundle } from '../helpers/temporal';

/**
 * Records the histories the replay test runs against later versions of the workflow. Run it once per
 * released workflow version, against any Temporal server:
 *   npm run build && TEMPORAL_ADDRESS=127.0.0.1:7233 node dist/test/replay/record-histories.js v3
 * (the server needs the project's search attributes: `temporal server start-dev` as tools/dev/temporal-server.ts
 * starts it). Payloads use the default converter (no encryption) so the replay test needs no key. Since v3 the
 * user answers the confirmation page first, as in production; v1 and v2 were recorded before it existed. v4:
 * `patched('two-writes-per-verdict')` (the close carries the audit, folded search-attribute upserts).
 */
async function main(label: string): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('set TEMPORAL_ADDRESS');
  installQuietRuntime();
  const cli = await temporalCliPath();
  const taskQueue = `record-${Date.now()}`;
  const world: FakeWorld = { sessionState: new Map(), calls: [] };
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address });
  const activities = fakeActivities(world);
  const worker = await Worker.create({ connection: nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });
  // The rate-limited service queues (src/shared/task-queues.ts); no limits while recording.
  const serviceWorkers = await Promise.all(
    [sentinelTaskQueue(taskQueue, TEST_SUBSCRIPTION_ID), incodeTaskQueue(taskQueue)].map((queue) =>
      Worker.create({ connection: nativeConnection, taskQueue: queue, activities }),
    ),
  );
  const outDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories');
  mkdirSync(outDir, { recursive: true });

  const scenario = async (
    name: string,
    policy: Parameters<typeof testRequest>[1],
    drive: (interviewId: string, workflowId: string) => Promise<void>,
  ) => {
    const incidentId = `${label}-${name}`;
    const workflowId = `record-${incidentId}-${Date.now()}`;
    const operation = new WithStartWorkflowOperation<typeof identityVerification>(WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [testRequest(incidentId, policy)],
      workflowIdConflictPolicy: 'FAIL',
    });
    await client.workflow.executeUpdateWithStart(verificationLinkUpdate, { startWorkflowOperation: operation });
    await drive(`iv-${incidentId}`, workflowId);
    const handle = client.workflow.getHandle(workflowId);
    await handle.result();
    // The CLI writes the same JSON the Web UI downloads.
    const json = execFileSync(cli, ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json']);
    writeFileSync(path.join(outDir, `${label}-${name}.json`), json);
    console.log(`recorded ${label}-${name}`);
  };

  /** The user's answer on the confirmation page, as the gateway hands it to the workflow. */
  const answer = (workflowId: string, given: ActivityAnswer) =>
    client.workflow.getHandle(workflowId).executeUpdate(userAnswerUpdate, {
      args: [
        {
          answer: given,
          user: 'alice@contoso.com',
          answeredAt: new Date().toISOString(),
          clientIp: '198.51.100.4',
          userAgent: 'record-histories/1.0',
        },
      ],
    });
  const signal = (workflowId: string, interviewId: string, eventType: 'SESSION_SUCCEEDED' | 'SESSION_FAILED') =>
    client.workflow
      .getHandle(workflowId)
      .signal(verificationResultSignal, { eventType, interviewId, receivedAt: new Date().toISOString() });

  const serving = serviceWorkers.map((serviceWorker) => serviceWorker.run());
  await worker.runUntil(async () => {
    await scenario('verified-by-webhook', {}, async (interviewId, workflowId) => {
      await answer(workflowId, 'was-me');
      world.sessionState.set(interviewId, 'Succeeded');
      await client.workflow
        .getHandle(workflowId)
        .signal(verificationResultSignal, { eventType: 'SESSION_SUCCEEDED', interviewId, receivedAt: new Date().toISOString() });
    });
    await scenario('failed-by-webhook', {}, async (interviewId, workflowId) => {
      await answer(workflowId, 'was-me');
      world.sessionState.set(interviewId, 'Failed');
      await client.workflow
        .getHandle(workflowId)
        .signal(verificationResultSignal, { eventType: 'SESSION_FAILED', interviewId, receivedAt: new Date().toISOString() });
    });
    await scenario('verified-by-poll', { pollIntervalMs: 500 }, async (interviewId, workflowId) => {
      await answer(workflowId, 'was-me');
      world.sessionState.set(interviewId, 'Succeeded');
    });
    await scenario('denied', {}, async (_interviewId, workflowId) => {
      await answer(workflowId, 'wasnt-me');
    });
    await scenario('success-without-answer-timed-out', { timeoutMs: 2_000, pollIntervalMs: 700 }, async (interviewId, workflowId) => {
      world.sessionState.set(interviewId, 'Succeeded');
      await signal(workflowId, interviewId, 'SESSION_SUCCEEDED');
    });
    await scenario('direct-link-verified-by-webhook', { verificationLink: 'incode-direct' }, async (interviewId, workflowId) => {
      world.sessionState.set(interviewId, 'Succeeded');
      await signal(workflowId, interviewId, 'SESSION_SUCCEEDED');
    });
    await scenario('timed-out-after-unconfirmed-webhook', { timeoutMs: 2_000, pollIntervalMs: 700 }, async (interviewId, workflowId) => {
      await client.workflow
        .getHandle(workflowId)
        .signal(verificationResultSignal, { eventType: 'SESSION_SUCCEEDED', interviewId, receivedAt: new Date().toISOString() });
    });
    world.createFails = ApplicationFailure.nonRetryable(
      'The user is not in the Incode directory (Incode error 5504)',
      'IncodeUserNotFound',
    );
    await scenario('user-not-found', {}, async () => undefined);
    world.createFails = undefined;
  });
  for (const serviceWorker of serviceWorkers) serviceWorker.shutdown();
  await Promise.all(serving);
  await nativeConnection.close();
  await connection.close();
}

main(process.argv[2] ?? 'v1').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

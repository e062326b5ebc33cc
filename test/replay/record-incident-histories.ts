import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporalCliPath } from '../../tools/dev/temporal-server';
import {
  cancelVerificationSignal,
  userAnswerUpdate,
  verificationLinkUpdate,
  verificationResultSignal,
  WORKFLOW_TYPES,
} from '../../src/shared/messages';
import { incodeTaskQueue, sentinelTaskQueue } from '../../src/shared/task-queues';
import type { ActivityAnswer } from '../../src/shared/types';
import type { incidentVerification } from '../../src/workflows';
import { fakeActivities, TEST_SUBSCRIPTION_ID, testIncidentRequest, type FakeWorld } from '../helpers/fake-activities';
import { installQuietRuntime, workflowBundle } from '../helpers/temporal';

const ALICE = 'alice@contoso.com';
const ADELE = 'adele.vance@contoso.com';

/**
 * Records incidentVerification's histories (an incident naming two accounts) for the replay test, as
 * record-histories.ts does for identityVerification:
 *   npm run build && TEMPORAL_ADDRESS=127.0.0.1:7233 node dist/test/replay/record-incident-histories.js incident-v1
 * Only the incident's own workflow is recorded: its children are identityVerification runs, whose histories
 * record-histories.ts covers. Payloads use the default converter (no encryption) so the replay needs no key.
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
  const serviceWorkers = await Promise.all(
    [sentinelTaskQueue(taskQueue, TEST_SUBSCRIPTION_ID), incodeTaskQueue(taskQueue)].map((queue) =>
      Worker.create({ connection: nativeConnection, taskQueue: queue, activities }),
    ),
  );
  const outDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories');
  mkdirSync(outDir, { recursive: true });

  const answer = (workflowId: string, user: string, given: ActivityAnswer) =>
    client.workflow.getHandle(workflowId).executeUpdate(userAnswerUpdate, {
      args: [{ answer: given, user, answeredAt: new Date().toISOString(), clientIp: '198.51.100.4', userAgent: 'record-histories/1.0' }],
    });
  const incode = async (workflowId: string, interviewId: string, state: 'Succeeded' | 'Failed') => {
    world.sessionState.set(interviewId, state);
    await client.workflow.getHandle(workflowId).signal(verificationResultSignal, {
      eventType: state === 'Succeeded' ? 'SESSION_SUCCEEDED' : 'SESSION_FAILED',
      interviewId,
      receivedAt: new Date().toISOString(),
    });
  };

  const scenario = async (
    name: string,
    policy: Parameters<typeof testIncidentRequest>[2],
    drive: (incidentId: string, workflowId: string) => Promise<void>,
  ) => {
    const incidentId = `${label}-${name}`;
    // The file's name is the workflow id: the replay test passes it to the replayed run, and the children's ids
    // (`<workflow id>-account-N`) are derived from it. Record on a fresh server.
    const workflowId = incidentId;
    const operation = new WithStartWorkflowOperation<typeof incidentVerification>(WORKFLOW_TYPES.incident, {
      workflowId,
      taskQueue,
      args: [testIncidentRequest(incidentId, [ALICE, ADELE], policy)],
      workflowIdConflictPolicy: 'FAIL',
    });
    await client.workflow.executeUpdateWithStart(verificationLinkUpdate, { startWorkflowOperation: operation });
    await drive(incidentId, workflowId);
    await client.workflow.getHandle(workflowId).result();
    const json = execFileSync(cli, ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json']);
    writeFileSync(path.join(outDir, `${label}-${name}.json`), json);
    console.log(`recorded ${label}-${name}`);
  };

  const serving = serviceWorkers.map((serviceWorker) => serviceWorker.run());
  await worker.runUntil(async () => {
    await scenario('all-verified', {}, async (incidentId, workflowId) => {
      await answer(`${workflowId}-account-1`, ALICE, 'was-me');
      await incode(workflowId, `iv-${incidentId}`, 'Succeeded');
      await answer(`${workflowId}-account-2`, ADELE, 'was-me');
      await incode(workflowId, `iv-${incidentId}-2`, 'Succeeded');
    });
    await scenario('one-failed', {}, async (incidentId, workflowId) => {
      await answer(`${workflowId}-account-2`, ADELE, 'was-me');
      await incode(workflowId, `iv-${incidentId}-2`, 'Failed');
    });
    await scenario('denied', {}, async (_incidentId, workflowId) => {
      await answer(`${workflowId}-account-1`, ALICE, 'wasnt-me');
    });
    await scenario('ignored-event-then-cancelled', {}, async (_incidentId, workflowId) => {
      const handle = client.workflow.getHandle(workflowId);
      await handle.signal(verificationResultSignal, {
        eventType: 'SESSION_SUCCEEDED',
        interviewId: 'iv-someone-else',
        receivedAt: new Date().toISOString(),
      });
      await handle.signal(cancelVerificationSignal, { reason: 'The incident was closed in Sentinel', requestedBy: 'record-histories' });
    });
    await scenario('one-timed-out', { timeoutMs: 3_000, pollIntervalMs: 1_000 }, async (incidentId, workflowId) => {
      await answer(`${workflowId}-account-1`, ALICE, 'was-me');
      await incode(workflowId, `iv-${incidentId}`, 'Succeeded');
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

main(process.argv[2] ?? 'incident-v1').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  Client,
  Connection,
  makeGrpcRetryInterceptor,
  defaultGrpcRetryOptions,
  NamespaceNotFoundError,
  type ConnectionOptions,
} from '@temporalio/client';
import { VerificationService } from '../../src/gateway/verification-service';
import { verificationWorkflowId } from '../../src/shared/ids';
import { verificationResultSignal, WORKFLOW_TYPE } from '../../src/shared/messages';
import {
  InterviewIdAttribute,
  VerificationStatusAttribute,
  VerifiedUserAttribute,
  WorkspaceAttribute,
} from '../../src/shared/search-attributes';
import type { IncodeSessionEvent, VerificationPolicy, VerificationRequest, WorkspaceRef } from '../../src/shared/types';
import { dataConverterFor } from '../../src/temporal/connection';
import { eventually, testTemporalConfig } from '../helpers/temporal';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * VerificationService against the real Temporal server, with no worker: a started workflow simply stays
 * running (signals land in its history), a terminated one is closed. Every RPC the service makes is
 * recorded, so the tests pin both what callers see and how many round trips it costs.
 */
describe('VerificationService: webhook routing and join look-up', () => {
  const config = testTemporalConfig('verification-service');
  const first: WorkspaceRef = { subscriptionId: randomUUID(), resourceGroup: 'rg-a', workspaceName: 'law-a' };
  const second: WorkspaceRef = { subscriptionId: randomUUID(), resourceGroup: 'rg-b', workspaceName: 'law-b' };
  const calls: string[] = [];
  const started: string[] = [];
  let connection: Connection;
  let client: Client;
  let service: VerificationService;

  const recordCalls: GrpcInterceptor = (options, nextCall) => {
    calls.push(options.method_definition.path.split('/').pop() ?? '?');
    // grpc-js's next call is an InterceptingCall at run time; its type only promises the interface.
    return nextCall(options) as ReturnType<GrpcInterceptor>;
  };

  before(async () => {
    connection = await Connection.connect({
      address: config.address,
      interceptors: [recordCalls, makeGrpcRetryInterceptor(defaultGrpcRetryOptions())],
    });
    client = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config) });
    service = new VerificationService(client, config.taskQueue, () => [first, second]);
  });
  after(async () => {
    for (const workflowId of started)
      await client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
    await connection?.close();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  const policy: VerificationPolicy = {
    timeoutMs: 3_600_000,
    pollIntervalMs: 3_600_000,
    linkValidityMinutes: 60,
    closeClassification: 'FalsePositive',
    closeClassificationReason: 'IncorrectAlertLogic',
    escalationSeverity: 'High',
    failureLabel: 'IdentityVerificationFailed',
    joinWindowMs: 3_600_000,
  };

  function request(workspace: WorkspaceRef, incidentId: string, email: string): VerificationRequest {
    return { incidentId, workspace, subject: { email }, source: 'simple', requestedBy: 'test', policy };
  }

  /** A verification as the gateway would have started it; without a worker it waits for ever. */
  async function startWaiting(
    workspace: WorkspaceRef,
    incidentId: string,
    email = `${randomUUID()}@example.com`,
    interviewId?: string,
  ): Promise<string> {
    const workflowId = verificationWorkflowId(workspace, incidentId);
    await client.workflow.start(WORKFLOW_TYPE, {
      workflowId,
      taskQueue: config.taskQueue,
      args: [request(workspace, incidentId, email)],
      typedSearchAttributes: [
        { key: WorkspaceAttribute, value: workspace.workspaceName },
        { key: VerifiedUserAttribute, value: email },
        { key: VerificationStatusAttribute, value: 'AwaitingUser' },
        ...(interviewId ? [{ key: InterviewIdAttribute, value: interviewId }] : []),
      ],
    });
    started.push(workflowId);
    return workflowId;
  }

  async function startFinished(workspace: WorkspaceRef, incidentId: string): Promise<string> {
    const workflowId = await startWaiting(workspace, incidentId);
    await client.workflow.getHandle(workflowId).terminate('finished before the webhook');
    return workflowId;
  }

  async function signalsReceived(workflowId: string): Promise<number> {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter(
      (event) => event.workflowExecutionSignaledEventAttributes?.signalName === verificationResultSignal.name,
    ).length;
  }

  const webhook = (externalCustomerId: string): IncodeSessionEvent => ({
    eventType: 'SESSION_SUCCEEDED',
    externalCustomerId,
    receivedAt: new Date().toISOString(),
  });

  const routingCalls = () => calls.filter((call) => call !== 'GetWorkflowExecutionHistory');

  it('a running verification is signalled in one round trip', async (t) => {
    const incidentId = randomUUID();
    const workflowId = await startWaiting(first, incidentId);
    calls.length = 0;
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: true }), { kind: 'signalled', workflowId });
    t.diagnostic(`calls: ${routingCalls().join(', ')}`);
    assert.deepEqual(routingCalls(), ['SignalWorkflowExecution']);
    assert.equal(await signalsReceived(workflowId), 1);
  });

  it('a running verification of the second served workspace is found and signalled', async (t) => {
    const incidentId = randomUUID();
    const workflowId = await startWaiting(second, incidentId);
    calls.length = 0;
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: true }), { kind: 'signalled', workflowId });
    t.diagnostic(`calls: ${routingCalls().join(', ')}`);
    assert.deepEqual(routingCalls(), ['SignalWorkflowExecution', 'DescribeWorkflowExecution', 'SignalWorkflowExecution']);
    assert.equal(await signalsReceived(workflowId), 1);
  });

  it('a webhook for a finished verification answers finished and signals nothing', async (t) => {
    const incidentId = randomUUID();
    const workflowId = await startFinished(first, incidentId);
    calls.length = 0;
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: true }), { kind: 'finished', workflowId });
    t.diagnostic(`calls: ${routingCalls().join(', ')}`);
    assert.equal(await signalsReceived(workflowId), 0);
  });

  it('the first served workspace that has the verification decides, even when it has finished', async () => {
    const incidentId = randomUUID();
    const finished = await startFinished(first, incidentId);
    const running = await startWaiting(second, incidentId);
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: true }), { kind: 'finished', workflowId: finished });
    assert.equal(await signalsReceived(running), 0);
  });

  it('an unknown externalCustomerId is refused as unknown and creates nothing', async (t) => {
    const incidentId = randomUUID();
    calls.length = 0;
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: true }), { kind: 'unknown' });
    t.diagnostic(`calls: ${routingCalls().join(', ')}`);
    for (const workspace of [first, second]) {
      await assert.rejects(client.workflow.getHandle(verificationWorkflowId(workspace, incidentId)).describe(), /not found/i);
    }
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: false }), { kind: 'unknown' });
  });

  it('an event that cannot carry a result is acknowledged with a describe only, never signalled', async (t) => {
    const incidentId = randomUUID();
    const workflowId = await startWaiting(first, incidentId);
    calls.length = 0;
    assert.deepEqual(await service.routeEvent(webhook(incidentId), { signal: false }), { kind: 'acknowledged', workflowId });
    t.diagnostic(`calls: ${routingCalls().join(', ')}`);
    assert.deepEqual(routingCalls(), ['DescribeWorkflowExecution']);
    assert.equal(await signalsReceived(workflowId), 0);
  });

  it('without externalCustomerId the verification is found by interview id', async () => {
    const interviewId = randomUUID().replace(/-/g, '');
    const workflowId = await startWaiting(first, randomUUID(), undefined, interviewId);
    const event: IncodeSessionEvent = { eventType: 'SESSION_SUCCEEDED', interviewId, receivedAt: new Date().toISOString() };
    await eventually(
      async () => (await service.routeEvent(event, { signal: false })).kind === 'acknowledged',
      10_000,
      'the interview id to be visible',
    );
    assert.deepEqual(await service.routeEvent(event, { signal: true }), { kind: 'signalled', workflowId });
    assert.equal(await signalsReceived(workflowId), 1);
    const unknown = { ...event, interviewId: randomUUID().replace(/-/g, '') };
    assert.deepEqual(await service.routeEvent(unknown, { signal: true }), { kind: 'unknown' });
  });

  it('a first alert with nothing pending for the user costs the join look-up alone before its start', async (t) => {
    const incidentId = randomUUID();
    const workflowId = verificationWorkflowId(first, incidentId);
    started.push(workflowId);
    const result = await service.startOrJoin(request(first, incidentId, `${randomUUID()}@example.com`), 1_000);
    t.diagnostic(`calls: ${calls.join(', ')}`);
    // No worker runs, so the link never comes: the deadline answer proves it went to its own workflow.
    assert.deepEqual(result, { kind: 'deadline', workflowId });
    assert.deepEqual(calls.slice(0, calls.indexOf('ExecuteMultiOperation')), ['ListWorkflowExecutions']);
  });

  for (const own of ['running', 'closed'] as const) {
    it(`an incident with its own ${own} workflow never joins the user's other pending verification`, async (t) => {
      const email = `${randomUUID()}@example.com`;
      const ownIncident = randomUUID();
      const ownWorkflowId = own === 'running' ? await startWaiting(first, ownIncident, email) : await startFinished(first, ownIncident);
      // Started after the incident's own, so the look-up lists it first.
      const pending = await startWaiting(first, randomUUID(), email);
      await eventually(
        async () => {
          const ids: string[] = [];
          const query = `${VerifiedUserAttribute.name} = '${email}' AND ExecutionStatus = 'Running'`;
          for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
          return ids.includes(pending) || undefined;
        },
        10_000,
        'the pending verification to be visible',
      );
      calls.length = 0;
      const result = await service.startOrJoin(request(first, ownIncident, email), 1_000);
      t.diagnostic(`calls: ${calls.join(', ')}`);
      assert.deepEqual(result, { kind: 'deadline', workflowId: ownWorkflowId });
      assert.equal(calls.includes('UpdateWorkflowExecution'), false, 'no join was attempted');
    });
  }

  it("a repeat alert finds the user's pending verification when the address holds an apostrophe", async (t) => {
    const email = `o'brien-${randomUUID().slice(0, 8)}@example.com`;
    const pending = await startWaiting(first, randomUUID(), email);
    await eventually(
      async () => {
        for await (const execution of client.workflow.list({ query: `${VerifiedUserAttribute.name} = "${email}"` }))
          return execution.workflowId === pending || undefined;
        return undefined;
      },
      10_000,
      'the pending verification to be visible',
    );
    calls.length = 0;
    // No worker: the join's update cannot finish within the deadline; that it was sent is what counts here.
    await service.startOrJoin(request(first, randomUUID(), email), 1_000).catch(() => undefined);
    t.diagnostic(`calls: ${calls.join(', ')}`);
    assert.deepEqual(calls.slice(0, 3), ['ListWorkflowExecutions', 'DescribeWorkflowExecution', 'UpdateWorkflowExecution']);
  });

  it('only a deadline is answered as one: a failure whose text holds a lone 4 is passed on', async () => {
    // The namespace's name puts a lone "4" in the error text, which the old text match took for DEADLINE_EXCEEDED.
    const missing = new Client({ connection, namespace: `itdr-missing-4`, dataConverter: dataConverterFor(config) });
    const service = new VerificationService(missing, config.taskQueue, () => [first]);
    const withoutJoin = { ...request(first, randomUUID(), `${randomUUID()}@example.com`), policy: { ...policy, joinWindowMs: 0 } };
    await assert.rejects(service.startOrJoin(withoutJoin, 1_000), (error: Error) => {
      assert.ok(error instanceof NamespaceNotFoundError, String(error));
      return true;
    });
  });

  it('when the join look-up fails, an incident with its own workflow still goes to it; a new one gets the error', async () => {
    const failingVisibility = new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(config) });
    failingVisibility.workflow.list = () => {
      throw new Error('visibility unavailable');
    };
    const withoutVisibility = new VerificationService(failingVisibility, config.taskQueue, () => [first, second]);
    const ownIncident = randomUUID();
    const ownWorkflowId = await startWaiting(first, ownIncident);
    assert.deepEqual(await withoutVisibility.startOrJoin(request(first, ownIncident, `${randomUUID()}@example.com`), 1_000), {
      kind: 'deadline',
      workflowId: ownWorkflowId,
    });
    await assert.rejects(
      withoutVisibility.startOrJoin(request(first, randomUUID(), `${randomUUID()}@example.com`), 1_000),
      /visibility unavailable/,
    );
  });
});

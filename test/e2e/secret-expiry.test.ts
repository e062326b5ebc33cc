import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { SecretExpiryResult } from '../../src/activities/secret-expiry-activities';
import { DEFAULT_SECRET_NAMES } from '../../src/config/key-vault';
import { ensureSecretExpirySchedule, SECRET_EXPIRY_SCHEDULE_ID } from '../../src/worker/secret-expiry-schedule';
import { eventually } from '../helpers/temporal';
import { startTestStack, type TestStack } from '../helpers/stack';

/** The daily `secretExpiryCheck` workflow and its schedule, with the stack's worker and the simulated vault. */
describe('secret expiry check', () => {
  let stack: TestStack;
  let hook: Server;
  const notifications: any[] = [];

  before(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        notifications.push({ method: req.method, contentType: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    stack = await startTestStack({
      SECRET_EXPIRY_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      SECRET_EXPIRY_SCHEDULE: 'true',
    });
  });
  after(async () => {
    await stack?.client.schedule
      .getHandle(SECRET_EXPIRY_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    await stack?.stop();
    await new Promise((resolve) => hook?.close(resolve));
  });

  it('warns of a secret expiring within 90 days: result, log line, gauge and hook, names and dates only', async () => {
    const name = DEFAULT_SECRET_NAMES.clientSecret;
    const value = stack.simulator.keyVault.getSecret(name)!.value;
    const expiresOn = new Date(Date.now() + 30 * 86_400_000);
    stack.simulator.keyVault.setSecret(name, value, { expiresOn });
    const far = DEFAULT_SECRET_NAMES.apiKey;
    stack.simulator.keyVault.setSecret(far, stack.simulator.keyVault.getSecret(far)!.value, {
      expiresOn: new Date(Date.now() + 200 * 86_400_000),
    });

    const result: SecretExpiryResult = await stack.client.workflow.execute('secretExpiryCheck', {
      taskQueue: stack.env.TEMPORAL_TASK_QUEUE,
      workflowId: `secret-expiry-test-${Date.now()}`,
    });
    assert.equal(result.warningDays, 90);
    assert.equal(result.secrets.length, 6);
    assert.ok(result.secrets.every((secret) => secret.state === 'enabled'));
    assert.deepEqual(
      result.warnings.map((warning) => warning.name),
      [name],
    );
    assert.ok([29, 30].includes(result.warnings[0].daysLeft), String(result.warnings[0].daysLeft));
    assert.equal(new Date(result.warnings[0].expiresOn).getTime(), Math.floor(expiresOn.getTime() / 1000) * 1000);
    assert.equal(result.notified, true);

    assert.equal(notifications.length, 1);
    assert.equal(notifications[0].method, 'POST');
    assert.equal(notifications[0].contentType, 'application/json');
    assert.equal(notifications[0].body.event, 'secret-expiry-warning');
    assert.deepEqual(
      notifications[0].body.secrets.map((secret: { name: string }) => secret.name),
      [name],
    );
    const everything = JSON.stringify(result) + JSON.stringify(notifications) + stack.logs.text;
    assert.ok(!everything.includes(value), 'no secret value in the result, the hook or the logs');

    const line = stack.logs.lines.map((text) => JSON.parse(text)).find((entry) => entry.event === 'secret_expiry_warning');
    assert.ok(line, stack.logs.text);
    assert.equal(line.secret, name);
    assert.equal(line.level, 40);

    const gauge = await stack.workerMetrics.secretExpiryDays.get();
    const byName = Object.fromEntries(gauge.values.map((sample) => [sample.labels.secret, sample.value]));
    assert.ok([29, 30].includes(byName[name]), JSON.stringify(byName));
    assert.ok(byName[far]! >= 199);
    assert.equal(byName[DEFAULT_SECRET_NAMES.clientId], undefined, 'no expiry date, no series');

    stack.simulator.keyVault.setSecret(name, value);
    stack.simulator.keyVault.setSecret(far, stack.simulator.keyVault.getSecret(far)!.value);
  });

  it('creates the daily schedule at start-up (SECRET_EXPIRY_SCHEDULE=true) and updates it idempotently', async () => {
    const handle = stack.client.schedule.getHandle(SECRET_EXPIRY_SCHEDULE_ID);
    const described = await handle.describe();
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.workflowType, 'secretExpiryCheck');
    assert.equal(described.action.taskQueue, stack.env.TEMPORAL_TASK_QUEUE);
    assert.equal(described.policies.overlap, ScheduleOverlapPolicy.SKIP);
    assert.deepEqual(
      described.spec.intervals?.map((interval) => interval.every),
      [86_400_000],
    );

    assert.equal(await ensureSecretExpirySchedule(stack.client, { taskQueue: stack.env.TEMPORAL_TASK_QUEUE }), 'updated');
    assert.equal(await ensureSecretExpirySchedule(stack.client, { taskQueue: stack.env.TEMPORAL_TASK_QUEUE }), 'updated');
    const again = await handle.describe();
    assert.equal(again.action.type === 'startWorkflow' && again.action.workflowType, 'secretExpiryCheck');
    assert.equal(again.policies.overlap, ScheduleOverlapPolicy.SKIP);
    const schedules: string[] = [];
    for await (const summary of stack.client.schedule.list()) schedules.push(summary.scheduleId);
    assert.equal(schedules.filter((id) => id === SECRET_EXPIRY_SCHEDULE_ID).length, 1);

    // Triggered now, the scheduled run completes on the worker.
    await handle.trigger();
    const run = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action, 15_000, 'a scheduled run');
    const result: SecretExpiryResult = await stack.client.workflow
      .getHandle(run.workflow.workflowId, run.workflow.firstExecutionRunId)
      .result();
    assert.equal(result.secrets.length, 6);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalStack, type LocalStackWithoutWorker } from '../../tools/dev/local-stack';
import { freePort } from '../../tools/dev/free-port';
import { sentinelTaskQueue } from '../../src/shared/task-queues';
import { killReplica, startBalancer, startReplica, urlOf, type Balancer, type Replica } from '../helpers/replicas';
import { answerConfirmationPage, DEMO_USER, INTAKE_LIFTED, OTHER_USER } from '../helpers/stack';
import { testTemporalConfig, temporalAddress } from '../helpers/temporal';

/**
 * Production's shape: two gateway processes (`dist/src/gateway.js`) and two worker processes
 * (`dist/src/worker.js`) against one Temporal server, behind a round-robin load balancer that, as a real one
 * does, sends nothing to a replica whose /readyz fails. Incidents of two subscriptions enter through the balancer;
 * Incode (simulated, OAuth2 webhook authentication) gets its token through the balancer and sends its webhooks
 * through it, so a token issued by one replica is presented to either. Mid-run one gateway and one worker get
 * SIGTERM: each must drain (the gateway's readiness fails while it still finishes what it has), exit 0, and
 * lose nothing. The users answer the confirmation page through the balancer too (its GET and POST reach
 * either replica: the link is signed with a key every replica derives from the shared payload key). Every
 * incident must be decided exactly once: one closing or escalating change, one decision
 * comment, the planned outcome.
 */
const SECOND_SUBSCRIPTION = '0b7d2a1c-3e4f-4c3a-9e5f-6a0c4f2e8d1b';
const SECOND_WORKSPACE = { subscriptionId: SECOND_SUBSCRIPTION, resourceGroup: 'rg-customer-b', workspaceName: 'law-customer-b' };
const INCIDENTS = 24;

describe('several gateway and worker replicas', { timeout: 240_000 }, () => {
  let stack: LocalStackWithoutWorker;
  let balancer: Balancer;
  const replicas: Replica[] = [];

  before(async () => {
    const { taskQueue } = testTemporalConfig('replicas');
    stack = await startLocalStack({
      temporalAddress: temporalAddress(),
      taskQueue,
      directory: [DEMO_USER, OTHER_USER],
      worker: false,
      env: {
        VERIFICATION_JOIN_WINDOW: '0',
        ...INTAKE_LIFTED,
        INCODE_WEBHOOK_AUTH: 'oauth2',
        SENTINEL_ALLOWED_WORKSPACES: [SECOND_WORKSPACE.subscriptionId, SECOND_WORKSPACE.resourceGroup, SECOND_WORKSPACE.workspaceName].join(
          '/',
        ),
        GATEWAY_REPLICAS: '2',
        // Long enough for the balancer's readiness probe (every 100 ms) to take the replica out before it closes.
        GATEWAY_DRAIN_DELAY: '1s',
        SECRET_EXPIRY_SCHEDULE: 'false',
        LOG_LEVEL: 'info',
      },
    });
    stack.simulator.sentinel.addWorkspace(SECOND_WORKSPACE);
    // The stack's own in-process gateway is not used: only the replicas serve, behind the balancer.
    await stack.gateway.close();
    // Users reach the gateways through the balancer: the confirmation page's links point there.
    const balancerPort = await freePort();
    const env = {
      ...process.env,
      ...stack.env,
      ...stack.simulator.identityEnv,
      GATEWAY_PORT: '0',
      CONFIRMATION_PAGE_URL: `http://127.0.0.1:${balancerPort}`,
    };
    const gateways = await Promise.all(['gateway-1', 'gateway-2'].map((name) => startReplica(name, 'gateway', env, /"gateway listening"/)));
    const workers = await Promise.all(
      ['worker-1', 'worker-2'].map(async (name) =>
        startReplica(
          name,
          'worker',
          { ...env, WORKER_METRICS_PORT: String(await freePort()), WORKER_METRICS_HOST: '127.0.0.1' },
          /"worker started"/,
        ),
      ),
    );
    replicas.push(...gateways, ...workers);
    balancer = await startBalancer(
      gateways.map((gateway) => urlOf(gateway)),
      { port: balancerPort },
    );
    const oauth2 = stack.webhookOAuth2!;
    stack.simulator.setWebhookTarget(
      `${balancer.url}/api/webhooks/incode`,
      {},
      { ...oauth2, tokenUrl: `${balancer.url}/api/webhooks/incode/token` },
    );
  });

  after(async () => {
    await balancer?.close();
    await Promise.all(replicas.map(killReplica));
    await stack?.stop();
  });

  it('decides every incident exactly once while one gateway and one worker are stopped mid-run', async () => {
    const plans = Array.from({ length: INCIDENTS }, (_, index) => {
      const workspace = index % 2 === 0 ? stack.simulator.sentinel.defaultWorkspace : SECOND_WORKSPACE;
      const user = index % 4 < 2 ? DEMO_USER : OTHER_USER;
      const [accountName, upnSuffix] = user.split('@') as [string, string];
      const incident = stack.simulator.sentinel.seedIncident({
        title: `Replicas ${index}`,
        severity: 'Medium',
        workspace,
        accounts: [{ accountName, upnSuffix }],
      });
      return { index, incidentId: incident.name, workspace, outcome: index % 3 === 0 ? ('failed' as const) : ('succeeded' as const) };
    });
    const gatewayToStop = replicas.find((replica) => replica.name === 'gateway-1')!;
    const workerToStop = replicas.find((replica) => replica.name === 'worker-1')!;
    const failures: string[] = [];
    let stopped: Promise<unknown> | undefined;
    const answers = new Map<string, { workflowId: string; interviewId: string }>();

    for (const plan of plans) {
      if (plan.index === INCIDENTS / 2) {
        // Mid-run: both get SIGTERM while verifications are in flight on them.
        stopped = Promise.all([gatewayToStop.exited, workerToStop.exited]);
        gatewayToStop.child.kill('SIGTERM');
        workerToStop.child.kill('SIGTERM');
      }
      const response = await fetch(`${balancer.url}/api/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
        // The playbook's body: it names the incident's workspace (either subscription).
        body: JSON.stringify(stack.simulator.sentinel.playbookTrigger(plan.incidentId, 'Create')),
      });
      const body = (await response.json()) as { status?: string; workflowId?: string; interviewId?: string; verificationUrl?: string };
      if (
        response.status !== 200 ||
        body.status !== 'verification_initiated' ||
        !body.interviewId ||
        !body.workflowId ||
        !body.verificationUrl
      ) {
        failures.push(`incident ${plan.index}: POST answered ${response.status} ${JSON.stringify(body)}`);
        continue;
      }
      answers.set(plan.incidentId, { workflowId: body.workflowId, interviewId: body.interviewId });
      // The user confirms the activity ("This was me"), then finishes Incode's check at once; the page and
      // Incode's webhook go through the balancer to either replica.
      if (!body.verificationUrl.startsWith(`${balancer.url}/confirm/`))
        failures.push(`incident ${plan.index}: link ${body.verificationUrl} is not the balancer's`);
      const confirmed = await answerConfirmationPage(body.verificationUrl, 'was-me');
      if (confirmed.status !== 303) failures.push(`incident ${plan.index}: "This was me" answered ${confirmed.status}`);
      const completion = await stack.simulator.incode.completeSession(body.interviewId, plan.outcome);
      if (!completion.webhook.delivered || completion.webhook.attempts !== 1) {
        failures.push(`incident ${plan.index}: webhook not delivered at the first attempt (${JSON.stringify(completion.webhook)})`);
      }
    }
    assert.deepEqual(failures, [], 'no request lost');

    const exits = (await stopped) as Array<{ code: number | null; signal: NodeJS.Signals | null }>;
    assert.deepEqual(
      exits,
      [
        { code: 0, signal: null },
        { code: 0, signal: null },
      ],
      'the stopped gateway and worker drained and exited 0',
    );
    assert.ok(balancer.sentTo.get(urlOf(gatewayToStop))! > 0 && balancer.sentTo.get(urlOf(replicas[1]))! > 0, 'both gateways served');
    assert.ok(balancer.notReadySeen.has(urlOf(gatewayToStop)), 'the draining gateway failed readiness before it closed');
    assert.ok(
      gatewayToStop.logs.some((line) => line.includes('"cutConnections":false')),
      'it finished its requests in flight itself',
    );

    const workerIdentities = new Set<string>();
    for (const plan of plans) {
      const answer = answers.get(plan.incidentId)!;
      const result = (await stack.client.workflow.getHandle(answer.workflowId).result()) as { status: string; incidentAction: string };
      const tag = `incident ${plan.index} (${plan.outcome})`;
      assert.deepEqual(
        [result.status, result.incidentAction],
        plan.outcome === 'succeeded' ? ['Verified', 'Closed'] : ['Failed', 'Escalated'],
        tag,
      );
      const audit = stack.simulator.sentinel.auditLog(plan.incidentId, plan.workspace);
      const decisive = audit.filter(
        (entry) => entry.actor !== 'seed' && entry.kind === 'incidentUpdated' && (entry.changes.status || entry.changes.severity),
      );
      assert.equal(decisive.length, 1, `${tag}: one closing or escalating change`);
      const comments = stack.simulator.sentinel.listComments(plan.incidentId, plan.workspace);
      assert.equal(comments.length, new Set(comments.map((comment) => comment.name)).size, `${tag}: no duplicate comment`);
      // Its Sentinel activities ran on its own subscription's queue.
      const history = await stack.client.workflow.getHandle(answer.workflowId).fetchHistory();
      const queues = new Set(
        (history.events ?? [])
          .map((event) => event.activityTaskScheduledEventAttributes)
          .filter((scheduled) => scheduled && /Incident$/.test(scheduled.activityType?.name ?? ''))
          .map((scheduled) => scheduled!.taskQueue?.name),
      );
      assert.deepEqual([...queues], [sentinelTaskQueue(stack.env.TEMPORAL_TASK_QUEUE, plan.workspace.subscriptionId)], tag);
      for (const event of history.events ?? []) {
        const identity = event.activityTaskStartedEventAttributes?.identity;
        if (identity) workerIdentities.add(identity);
      }
    }
    assert.ok(workerIdentities.size >= 2, `both workers ran activities (${[...workerIdentities].join(', ')})`);
  });
});

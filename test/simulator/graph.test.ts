import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import { ApplicationFailure } from '@temporalio/common';
import { createGraphActivities, VERIFICATION_ID_HEADER } from '../../src/activities/graph-activities';
import { GraphClient } from '../../src/clients/graph-client';
import { GraphApiError, GraphPermissionError } from '../../src/clients/graph-errors';
import { loadWorkerConfig } from '../../src/config/worker';
import { createWorkerActivities } from '../../src/worker/dependencies';
import { ConfigError } from '../../src/config/parse';
import type { RunningSimulator, SentMail } from '../../tools/simulator';
import { startTestSimulator, timed } from './helpers';

const MEGAN = { id: '5f7c6e2a-1b3d-4c8e-9a0f-2d4b6c8e0a1b', userPrincipalName: 'megan.bowen@contoso.com' };
const ADMIN = 'admin.nestor@contoso.com';
const GUEST = 'patti.fernandez_fabrikam.com#EXT#@contoso.onmicrosoft.com';
const SENDER = 'security@contoso.com';
const GROUPS = {
  sales: 'a1f2d3c4-0000-4000-8000-000000000001',
  emea: 'a1f2d3c4-0000-4000-8000-000000000002',
  all: 'a1f2d3c4-0000-4000-8000-000000000003',
};

/**
 * Microsoft Graph through the real ManagedIdentityCredential (the simulated App Service identity endpoint) and
 * the project's GraphClient and activities, against the simulated Graph.
 */
describe('Microsoft Graph: GraphClient and activities against the simulator', () => {
  let sim: RunningSimulator;
  let graph: GraphClient;
  let activities: ReturnType<typeof createGraphActivities>;

  before(async () => {
    sim = await startTestSimulator({
      graph: {
        groups: [
          { id: GROUPS.emea, displayName: 'EMEA', memberOf: [GROUPS.all] },
          { id: GROUPS.all, displayName: 'All staff' },
        ],
        users: [
          {
            ...MEGAN,
            givenName: 'Megan',
            surname: 'Bowen',
            employeeId: 'E1042',
            birthday: '1988-11-03',
            groups: [GROUPS.sales, GROUPS.emea],
          },
          { userPrincipalName: ADMIN, givenName: 'Nestor', surname: 'Wilke', isAdmin: true },
          { userPrincipalName: GUEST, displayName: 'Patti Fernandez (Fabrikam)' },
          { userPrincipalName: SENDER, displayName: 'Security team' },
        ],
      },
    });
    Object.assign(process.env, sim.identityEnv);
    graph = new GraphClient(new ManagedIdentityCredential(), { graphEndpoint: sim.urls.graph, timeoutMs: 5_000 });
    activities = createGraphActivities(graph);
  });

  after(() => sim.close());

  beforeEach(() => {
    sim.faults.clear();
    sim.graph.resetPermissions();
    sim.graph.maxPageSize = 999;
  });

  it('reads a profile, birthday included, with a token the managed identity got for the Graph URL', async () => {
    const user = await graph.getUser(MEGAN.userPrincipalName.toUpperCase());
    assert.deepEqual(user, {
      id: MEGAN.id,
      userPrincipalName: MEGAN.userPrincipalName,
      givenName: 'Megan',
      surname: 'Bowen',
      displayName: 'Megan Bowen',
      employeeId: 'E1042',
      birthday: '1988-11-03',
      userType: 'Member',
      accountEnabled: true,
    });
    assert.ok(sim.identity.issued().some((token) => token.resource === sim.urls.graph && token.authMethod === 'managedIdentity'));

    // Never set: Graph answers 0001-01-01, which the client reports as no birthday. A guest's #EXT# UPN is addressable.
    const guest = await graph.getUser(GUEST);
    assert.equal(guest.userType, 'Guest');
    assert.equal(guest.birthday, undefined);
    assert.equal(guest.givenName, undefined);
  });

  it('returns birthday only when $select names it, as Graph does', async () => {
    const token = (await new ManagedIdentityCredential().getToken(`${sim.urls.graph}/.default`)).token;
    const plain = (await (
      await fetch(`${sim.urls.graph}/v1.0/users/${MEGAN.id}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Record<string, unknown>;
    assert.equal(plain.givenName, 'Megan');
    assert.ok(!('birthday' in plain) && !('employeeId' in plain) && !('accountEnabled' in plain));
    const selected = await fetch(`${sim.urls.graph}/v1.0/users/${MEGAN.id}?$select=id,birthday`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual(Object.keys((await selected.json()) as object).sort(), ['@odata.context', 'birthday', 'id']);
    const unknown = await fetch(`${sim.urls.graph}/v1.0/users/${MEGAN.id}?$select=shoeSize`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(unknown.status, 400);
  });

  it('lists transitive group memberships, following @odata.nextLink', async () => {
    assert.deepEqual((await graph.memberOfGroupIds(MEGAN.id)).sort(), Object.values(GROUPS).sort());
    sim.graph.maxPageSize = 1;
    const before = sim.graph.requestCount;
    assert.deepEqual((await graph.memberOfGroupIds(MEGAN.userPrincipalName)).sort(), Object.values(GROUPS).sort());
    assert.equal(sim.graph.requestCount - before, 3, 'one request per page');
    assert.deepEqual(await graph.memberOfGroupIds(ADMIN), [], 'a directory role is not a group');

    const lookup = await activities.lookUpUserProfile(MEGAN.userPrincipalName);
    assert.equal(lookup.profile.id, MEGAN.id);
    assert.equal(lookup.groupIds.length, 3);
  });

  it('revokes sign-in sessions (repeatable) and disables an account once (then already-done)', async () => {
    const user = sim.graph.addUser({ userPrincipalName: `lee.gu.${Date.now()}@contoso.com`, givenName: 'Lee', surname: 'Gu' });
    await graph.revokeSignInSessions(user.userPrincipalName);
    assert.equal(sim.graph.revokeCount(user.id), 1);
    assert.ok(Date.parse(sim.graph.getUser(user.id)!.signInSessionsValidFromDateTime) > Date.now() - 60_000);

    assert.equal(await graph.disableAccount(user.userPrincipalName), 'disabled');
    assert.equal(sim.graph.getUser(user.id)!.accountEnabled, false);
    assert.equal(await graph.disableAccount(user.userPrincipalName), 'already');

    const results = await activities.remediateAccount({ user: user.id, actions: ['revokeSessions', 'disableAccount', 'revokeSessions'] });
    assert.deepEqual(results, [
      { action: 'revokeSessions', result: 'done' },
      { action: 'disableAccount', result: 'already-done' },
    ]);
    assert.equal(sim.graph.revokeCount(user.id), 2);
  });

  it('names the missing application permission, and remediation skips that action instead of failing', async () => {
    const user = sim.graph.addUser({ userPrincipalName: `diego.s.${Date.now()}@contoso.com` });
    const permissionError = (permission: string, action: string) => (error: unknown) => {
      assert.ok(error instanceof GraphPermissionError, String(error));
      assert.equal(error.permission, permission);
      assert.equal(error.action, action);
      assert.equal(error.details.httpStatus, 403);
      assert.match(error.message, new RegExp(`application permission ${permission.replace(/\./g, '\\.')}`));
      assert.ok(!/simaz\./.test(error.message), 'no token in the message');
      return true;
    };

    sim.graph.denyPermission('User.RevokeSessions.All');
    await assert.rejects(graph.revokeSignInSessions(user.id), permissionError('User.RevokeSessions.All', 'revokeSessions'));
    sim.graph.denyPermission('User.EnableDisableAccount.All');
    await assert.rejects(graph.disableAccount(user.id), permissionError('User.EnableDisableAccount.All', 'disableAccount'));

    const results = await activities.remediateAccount({ user: user.id, actions: ['revokeSessions', 'disableAccount'] });
    assert.deepEqual(
      results.map((entry) => [entry.action, entry.result]),
      [
        ['revokeSessions', 'skipped'],
        ['disableAccount', 'skipped'],
      ],
    );
    assert.match(results[0].reason!, /User\.RevokeSessions\.All/);
    assert.match(results[1].reason!, /User\.EnableDisableAccount\.All/);
    assert.equal(sim.graph.getUser(user.id)!.accountEnabled, true);
    assert.equal(sim.graph.revokeCount(user.id), 0);

    sim.graph.resetPermissions();
    sim.graph.denyPermission('User.Read.All');
    await assert.rejects(graph.getUser(user.id), permissionError('User.Read.All', 'readUser'));
    sim.graph.resetPermissions();
    // Either permission lists memberships (Graph documents User.Read.All as enough); both gone: 403.
    sim.graph.denyPermission('GroupMember.Read.All');
    assert.deepEqual(await graph.memberOfGroupIds(user.id), []);
    sim.graph.denyPermission('User.Read.All');
    await assert.rejects(graph.memberOfGroupIds(user.id), permissionError('GroupMember.Read.All', 'listGroups'));

    // A lookup cannot be skipped: it fails at once (not retryable) with the explanation.
    await assert.rejects(activities.lookUpUserProfile(user.id), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'GraphPermissionDenied');
      assert.equal(error.nonRetryable, true);
      assert.match(error.message, /User\.Read\.All/);
      return true;
    });

    sim.graph.resetPermissions();
    sim.graph.denyPermission('Mail.Send');
    await assert.rejects(
      graph.sendMail(SENDER, { to: user.userPrincipalName, subject: 'x', htmlBody: '<p>x</p>' }),
      permissionError('Mail.Send', 'sendMail'),
    );
  });

  it('explains that disabling an administrator needs a higher privileged role', async () => {
    await assert.rejects(graph.disableAccount(ADMIN), (error: unknown) => {
      assert.ok(error instanceof GraphPermissionError);
      assert.equal(error.privilegedRoleRequired, true);
      assert.match(error.message, /holds an admin role \(Global Administrator\)/);
      assert.match(error.message, /the app needs a higher privileged role/);
      assert.match(error.message, /Privileged Authentication Administrator/);
      return true;
    });
    const [result] = await activities.remediateAccount({ user: ADMIN, actions: ['disableAccount'] });
    assert.equal(result.result, 'skipped');
    assert.match(result.reason!, /higher privileged role/);
    assert.equal(sim.graph.getUser(ADMIN)!.accountEnabled, true);

    sim.graph.privilegedRole = true;
    assert.equal(await graph.disableAccount(ADMIN), 'disabled');
    sim.graph.updateUser(ADMIN, { accountEnabled: true });
  });

  it('sends the verification link by mail; every copy carries the same verification id header', async () => {
    sim.graph.clearOutbox();
    const input = {
      fromMailbox: SENDER,
      to: MEGAN.userPrincipalName,
      displayName: 'Megan <Bowen>',
      verificationUrl: `${sim.urls.incodeApi}/verify/65f0c0ffee0123456789abcd?lang=en&x=1`,
      expiresAt: '2026-03-02T10:15:00.000Z',
      incidentNumber: 4711,
    };
    assert.deepEqual(await activities.sendVerificationEmail(input), { sent: true });
    assert.deepEqual(await activities.sendVerificationEmail(input), { sent: true });
    const outbox = sim.graph.outbox();
    assert.equal(outbox.length, 2, 'sendMail has no idempotency key: a repeated send is a second message');
    const [mail, copy] = outbox as [SentMail, SentMail];
    assert.match(mail.headers[VERIFICATION_ID_HEADER] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(copy.headers[VERIFICATION_ID_HEADER], mail.headers[VERIFICATION_ID_HEADER]);
    assert.equal(mail.from, SENDER);
    assert.deepEqual(mail.to, [MEGAN.userPrincipalName]);
    assert.equal(mail.contentType, 'HTML');
    assert.equal(mail.saveToSentItems, false);
    assert.match(mail.subject, /incident 4711/);
    assert.ok(mail.body.includes(`href="${input.verificationUrl.replace(/&/g, '&#38;')}"`), 'the link, HTML-escaped');
    assert.ok(mail.body.includes('Hello Megan &#60;Bowen&#62;,'), 'the name, HTML-escaped');
    assert.ok(mail.body.includes('2026-03-02 10:15 UTC'));
    assert.equal(mail.sentBy, sim.systemAssignedClientId);

    await assert.rejects(graph.sendMail('nobody@contoso.com', { to: MEGAN.userPrincipalName, subject: 's', htmlBody: 'b' }), {
      kind: 'MailboxNotFound',
    });
    const viaHttp = (await (await fetch(`${sim.urls.graph}/simulator/graph/outbox`)).json()) as { value: unknown[] };
    assert.equal(viaHttp.value.length, 2);
    await assert.rejects(
      graph.sendMail(SENDER, { to: MEGAN.userPrincipalName, subject: 's', htmlBody: 'b', headers: { 'Reply-To': 'x@y.z' } }),
      { kind: 'BadRequest' },
    );
  });

  it('retries a 429 after Graph’s Retry-After; a lasting or long throttle is a retryable error', async () => {
    const fault = sim.faults.add({ service: 'graph', pathIncludes: '/v1.0/users/', status: 429, retryAfterSeconds: 1, times: 1 });
    const { value, ms } = await timed(() => graph.getUser(MEGAN.id));
    assert.equal(value.id, MEGAN.id);
    assert.equal(fault.hits, 1);
    assert.ok(ms >= 900, `waited ${ms} ms`);

    const impatient = new GraphClient(new ManagedIdentityCredential(), { graphEndpoint: sim.urls.graph, maxRetries: 1 });
    sim.faults.add({ service: 'graph', pathIncludes: '/revokeSignInSessions', status: 429, retryAfterSeconds: 0, times: 5 });
    await assert.rejects(impatient.revokeSignInSessions(MEGAN.id), (error: unknown) => {
      assert.ok(error instanceof GraphApiError);
      assert.equal(error.kind, 'RateLimited');
      assert.equal(error.retryable, true);
      return true;
    });
    sim.faults.clear();

    sim.faults.add({ service: 'graph', pathIncludes: '/v1.0/users/', status: 429, retryAfterSeconds: 120, times: 1 });
    const started = Date.now();
    await assert.rejects(activities.lookUpUserProfile(MEGAN.id), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'GraphRateLimited');
      assert.equal(error.nonRetryable, false);
      assert.equal(error.nextRetryDelay, 120_000, 'Temporal waits as long as Graph asked');
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'a long Retry-After is left to Temporal');
  });

  it('reports each failed operation once to onApiError, after its own retries; a retried success not at all', async () => {
    const codes: string[] = [];
    const counted = new GraphClient(new ManagedIdentityCredential(), {
      graphEndpoint: sim.urls.graph,
      maxRetries: 1,
      onApiError: (code) => codes.push(code),
    });
    sim.faults.add({ service: 'graph', pathIncludes: '/v1.0/users/', status: 429, retryAfterSeconds: 0, times: 1 });
    assert.equal((await counted.getUser(MEGAN.id)).id, MEGAN.id);
    assert.deepEqual(codes, [], 'the throttled attempt was retried and the read succeeded');
    sim.faults.add({ service: 'graph', pathIncludes: '/revokeSignInSessions', status: 503, times: 2 });
    await assert.rejects(counted.revokeSignInSessions(MEGAN.id), { kind: 'ServerError' });
    assert.deepEqual(codes, ['503'], 'two attempts, one failed operation');
  });

  it('aborts a call in progress when its cancellation fires, with the cancellation as the error', async () => {
    const controller = new AbortController();
    const cancellable = new GraphClient(new ManagedIdentityCredential(), {
      graphEndpoint: sim.urls.graph,
      timeoutMs: 30_000,
      cancellation: () => controller.signal,
    });
    sim.faults.add({ service: 'graph', pathIncludes: '/v1.0/users/', delayMs: 10_000, times: 1 });
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    await assert.rejects(cancellable.getUser(MEGAN.id), (error: unknown) => error === reason);
    assert.ok(Date.now() - started < 5_000, `aborted after ${Date.now() - started} ms, not at the 10 s answer`);
  });

  it('classifies 404, 5xx and timeouts', async () => {
    await assert.rejects(graph.getUser('nobody@contoso.com'), (error: unknown) => {
      assert.ok(error instanceof GraphApiError);
      assert.equal(error.kind, 'UserNotFound');
      assert.equal(error.details.graphCode, 'Request_ResourceNotFound');
      return true;
    });
    await assert.rejects(activities.remediateAccount({ user: 'nobody@contoso.com', actions: ['revokeSessions'] }), {
      type: 'GraphUserNotFound',
      nonRetryable: true,
    });

    // A 503 on a read is repeated in the client; on sendMail it is not (the message may have left).
    const readFault = sim.faults.add({ service: 'graph', method: 'GET', status: 503, retryAfterSeconds: 0, times: 1 });
    assert.equal((await graph.getUser(MEGAN.id)).id, MEGAN.id);
    assert.equal(readFault.hits, 1);
    sim.faults.add({ service: 'graph', pathIncludes: '/sendMail', status: 503, times: 1 });
    await assert.rejects(graph.sendMail(SENDER, { to: MEGAN.userPrincipalName, subject: 's', htmlBody: 'b' }), { kind: 'ServerError' });

    const hasty = new GraphClient(new ManagedIdentityCredential(), { graphEndpoint: sim.urls.graph, timeoutMs: 300 });
    sim.faults.add({ service: 'graph', delayMs: 2_000, times: 1 });
    await assert.rejects(hasty.getUser(MEGAN.id), (error: unknown) => {
      assert.ok(error instanceof GraphApiError);
      assert.equal(error.kind, 'Network');
      assert.match(error.message, /no answer within 300 ms/);
      return true;
    });
  });

  it('repeats reads after Graph’s answer but never sendMail, whose 429 or 503 goes to Temporal at once', async () => {
    sim.graph.clearOutbox();
    const throttled = sim.faults.add({ service: 'graph', pathIncludes: '/sendMail', status: 429, retryAfterSeconds: 0, times: 1 });
    await assert.rejects(graph.sendMail(SENDER, { to: MEGAN.userPrincipalName, subject: 's', htmlBody: 'b' }), {
      kind: 'RateLimited',
      retryable: true,
    });
    const failed = sim.faults.add({ service: 'graph', pathIncludes: '/sendMail', status: 503, retryAfterSeconds: 0, times: 1 });
    await assert.rejects(graph.sendMail(SENDER, { to: MEGAN.userPrincipalName, subject: 's', htmlBody: 'b' }), {
      kind: 'ServerError',
      retryable: true,
    });
    assert.deepEqual([throttled.hits, failed.hits], [1, 1], 'one attempt each');
    assert.equal(sim.faults.list().length, 0);
    assert.equal(sim.graph.outbox().length, 0);

    const writes = sim.faults.add({ service: 'graph', method: 'PATCH', status: 504, retryAfterSeconds: 0, times: 1 });
    const user = sim.graph.addUser({ userPrincipalName: `alex.w.${Date.now()}@contoso.com` });
    assert.equal(await graph.disableAccount(user.id), 'disabled', 'an idempotent write is repeated');
    assert.equal(writes.hits, 1);
  });

  it('bounds a whole operation, Retry-After waits included, by its timeout; one failed operation, one count', async () => {
    const codes: string[] = [];
    const bounded = new GraphClient(new ManagedIdentityCredential(), {
      graphEndpoint: sim.urls.graph,
      timeoutMs: 1_500,
      maxRetries: 5,
      onApiError: (code) => codes.push(code),
    });
    const fault = sim.faults.add({ service: 'graph', pathIncludes: '/v1.0/users/', status: 429, retryAfterSeconds: 1, times: 10 });
    const started = Date.now();
    await assert.rejects(bounded.getUser(MEGAN.id), (error: unknown) => {
      assert.ok(error instanceof GraphApiError);
      assert.equal(error.kind, 'Network');
      assert.equal(error.details.noAnswer, 'timeout');
      assert.match(error.message, /no answer within 1500 ms/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1_400 && elapsed < 5_000, `ended after ${elapsed} ms`);
    // The first answer and one repeat a second later (none if the first was slow); the next would come after the deadline.
    assert.ok(fault.hits >= 1 && fault.hits <= 2, `${fault.hits} attempts`);
    assert.deepEqual(codes, ['timeout']);
  });

  it('cancels while the SDK waits out a Retry-After, with the cancellation as the error', async () => {
    const controller = new AbortController();
    const cancellable = new GraphClient(new ManagedIdentityCredential(), {
      graphEndpoint: sim.urls.graph,
      cancellation: () => controller.signal,
    });
    sim.faults.add({ service: 'graph', pathIncludes: '/revokeSignInSessions', status: 503, retryAfterSeconds: 8, times: 1 });
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 300);
    const started = Date.now();
    await assert.rejects(cancellable.revokeSignInSessions(MEGAN.id), (error: unknown) => error === reason);
    assert.ok(Date.now() - started < 5_000, `cancelled after ${Date.now() - started} ms, not after the 8 s wait`);
  });

  it('AZURE_HTTP_TIMEOUT bounds the worker’s Graph calls: a stalled Graph fails the activity with a timeout', async () => {
    const config = loadWorkerConfig({
      PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      AZURE_KEY_VAULT_URL: sim.urls.keyVault,
      SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
      GRAPH_ENDPOINT: sim.urls.graph,
      AZURE_HTTP_TIMEOUT: '700ms',
    });
    assert.equal(config.azure.httpTimeoutMs, 700);
    const worker = createWorkerActivities({
      credential: new ManagedIdentityCredential(),
      azure: config.azure,
      keyVault: config.keyVault,
      incodeHttpTimeoutMs: config.incodeHttpTimeoutMs,
      secretExpiry: config.secretExpiry,
    });
    sim.faults.add({ service: 'graph', pathIncludes: '/v1.0/users/', delayMs: 10_000, times: 1 });
    const started = Date.now();
    await assert.rejects(worker.lookUpUserProfile(MEGAN.id), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'GraphNetwork');
      assert.equal(error.nonRetryable, false);
      assert.match(error.message, /Microsoft Graph unreachable at 127\.0\.0\.1:\d+: no answer within 700 ms/);
      return true;
    });
    assert.ok(Date.now() - started < 5_000, `failed after ${Date.now() - started} ms, not at the 10 s answer`);
    assert.equal((await worker.lookUpUserProfile(MEGAN.id)).profile.id, MEGAN.id, 'the next call answers');
  });

  it('checks tokens: none, another audience, or an Entra app token for https://graph.microsoft.com', async () => {
    const url = `${sim.urls.graph}/v1.0/users/${MEGAN.id}`;
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.deepEqual(((await none.json()) as { error: { code: string; message: string } }).error.code, 'InvalidAuthenticationToken');
    const armToken = (await new ManagedIdentityCredential().getToken(`${sim.urls.arm}/.default`)).token;
    const wrong = await fetch(url, { headers: { authorization: `Bearer ${armToken}` } });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /Invalid audience/);

    const app = sim.entra.registerApplication();
    const credential = new ClientSecretCredential(sim.tenantId, app.clientId, app.clientSecret!, {
      authorityHost: sim.authorityHost,
      disableInstanceDiscovery: true,
    });
    const publicToken = (await credential.getToken('https://graph.microsoft.com/.default')).token;
    const ok = await fetch(url, { headers: { authorization: `Bearer ${publicToken}` } });
    assert.equal(ok.status, 200);
  });

  it('answers in Graph’s error shape and takes faults over HTTP as the graph service', async () => {
    const created = await fetch(`${sim.urls.graph}/simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 403, times: 1 }),
    });
    assert.equal(created.status, 201);
    assert.equal(((await created.json()) as { service: string }).service, 'graph');
    const token = (await new ManagedIdentityCredential().getToken(`${sim.urls.graph}/.default`)).token;
    const faulted = await fetch(`${sim.urls.graph}/v1.0/users/${MEGAN.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(faulted.status, 403);
    const body = (await faulted.json()) as { error: { code: string; message: string; innerError: Record<string, string> } };
    assert.equal(body.error.code, 'Forbidden');
    assert.ok(body.error.innerError['request-id']);

    sim.graph.denyPermission('User.Read.All');
    const denied = await fetch(`${sim.urls.graph}/v1.0/users/${MEGAN.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(denied.status, 403);
    const deniedBody = (await denied.json()) as { error: { code: string; message: string } };
    assert.deepEqual(
      [deniedBody.error.code, deniedBody.error.message],
      ['Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'],
    );

    const permissions = await fetch(`${sim.urls.graph}/simulator/graph/permissions`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reset: true, deny: ['Mail.Send'], privilegedRole: false }),
    });
    assert.deepEqual(((await permissions.json()) as { granted: string[] }).granted, [
      'GroupMember.Read.All',
      'User.EnableDisableAccount.All',
      'User.Read.All',
      'User.RevokeSessions.All',
    ]);
  });
});

describe('Incode score reports the verified document (ocr)', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startTestSimulator({ graph: { users: [] } });
  });
  after(() => sim.close());

  async function incodeToken(): Promise<string> {
    const response = await fetch(`${sim.urls.incodeAuth}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'openid',
        client_id: sim.incode.config.clientId,
        client_secret: sim.incode.config.clientSecret,
      }),
    });
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function score(interviewId: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${sim.urls.incodeApi}/omni/get/score?id=${interviewId}`, {
      headers: { authorization: `Bearer ${await incodeToken()}`, 'x-api-key': sim.incode.config.apiKey, 'api-version': '1.0' },
    });
    assert.equal(response.status, 200);
    return (await response.json()) as Record<string, unknown>;
  }

  it('adds ocr {firstName, lastName, birthDate} when the session has them, nothing otherwise', async () => {
    const plain = sim.incode.createSession({ loginHint: 'adele.vance@contoso.com' });
    await sim.incode.completeSession(plain.interviewId, 'succeeded');
    assert.ok(!('ocr' in (await score(plain.interviewId))));

    const session = sim.incode.createSession({ loginHint: 'adele.vance@contoso.com' });
    const identity = { firstName: 'ADELE', lastName: 'VANCE', birthDate: '1990-05-17' };
    await sim.incode.completeSession(session.interviewId, 'succeeded', { verifiedIdentity: identity });
    assert.deepEqual((await score(session.interviewId)).ocr, identity);
    assert.deepEqual(sim.incode.getSession(session.interviewId)!.verifiedIdentity, identity);

    const viaAdmin = sim.incode.createSession({ loginHint: 'adele.vance@contoso.com' });
    const complete = (body: unknown) =>
      fetch(`${sim.urls.incodeApi}/simulator/incode/sessions/${viaAdmin.interviewId}/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await complete({ outcome: 'succeeded', verifiedIdentity: { firstName: 'A', birthDate: '17.05.1990' } })).status, 400);
    assert.equal((await complete({ outcome: 'succeeded', verifiedIdentity: { firstName: 'Adele', lastName: 'Vance' } })).status, 200);
    assert.deepEqual((await score(viaAdmin.interviewId)).ocr, { firstName: 'Adele', lastName: 'Vance' });
  });
});

describe('Graph endpoint per cloud (GRAPH_ENDPOINT)', () => {
  const base = {
    PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
    AZURE_KEY_VAULT_URL: 'https://kv.vault.azure.net',
    SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
  };
  const endpoint = (env: Record<string, string>) => loadWorkerConfig({ ...base, ...env }).azure.graphEndpoint;

  it('follows AZURE_CLOUD; GRAPH_ENDPOINT may pick DoD, or a loopback simulator', () => {
    assert.equal(endpoint({}), 'https://graph.microsoft.com');
    assert.equal(
      endpoint({ AZURE_CLOUD: 'usgovernment', AZURE_KEY_VAULT_URL: 'https://kv.vault.usgovcloudapi.net' }),
      'https://graph.microsoft.us',
    );
    assert.equal(
      endpoint({
        AZURE_CLOUD: 'usgovernment',
        AZURE_KEY_VAULT_URL: 'https://kv.vault.usgovcloudapi.net',
        GRAPH_ENDPOINT: 'https://dod-graph.microsoft.us/',
      }),
      'https://dod-graph.microsoft.us',
    );
    assert.equal(
      endpoint({ AZURE_CLOUD: 'china', AZURE_KEY_VAULT_URL: 'https://kv.vault.azure.cn' }),
      'https://microsoftgraph.chinacloudapi.cn',
    );
    assert.equal(endpoint({ GRAPH_ENDPOINT: 'https://127.0.0.1:8443' }), 'https://127.0.0.1:8443');
    assert.equal(
      endpoint({
        AZURE_CLOUD: 'custom',
        AZURE_AUTHORITY_HOST: 'https://login.example.test',
        ARM_ENDPOINT: 'https://arm.example.test',
        AZURE_KEY_VAULT_SUFFIX: 'vault.azure.net',
      }),
      undefined,
    );
  });

  it('refuses another cloud’s Graph or a versioned URL, naming the variable', () => {
    assert.throws(
      () => endpoint({ GRAPH_ENDPOINT: 'https://graph.microsoft.us' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /GRAPH_ENDPOINT: https:\/\/graph\.microsoft\.us is not the public cloud's Microsoft Graph .* set AZURE_CLOUD=usgovernment/,
        );
        return true;
      },
    );
    assert.throws(() => endpoint({ GRAPH_ENDPOINT: 'https://graph.microsoft.com/v1.0' }), /GRAPH_ENDPOINT: must be the Graph host only/);
  });
});

describe('Graph per national cloud: the token is asked for that cloud’s Graph', () => {
  for (const endpoint of [
    'https://graph.microsoft.com',
    'https://graph.microsoft.us',
    'https://dod-graph.microsoft.us',
    'https://microsoftgraph.chinacloudapi.cn',
  ]) {
    it(endpoint, async () => {
      const asked: Array<{ scopes: string | string[]; signal: boolean }> = [];
      const credential = {
        getToken: async (scopes: string | string[], options?: { abortSignal?: AbortSignal }) => {
          asked.push({ scopes, signal: options?.abortSignal instanceof AbortSignal });
          throw new Error('no identity here');
        },
      };
      const codes: string[] = [];
      const graph = new GraphClient(credential, { graphEndpoint: `${endpoint}/`, onApiError: (code) => codes.push(code) });
      await assert.rejects(graph.getUser('megan.bowen@contoso.com'), (error: unknown) => {
        assert.ok(error instanceof GraphApiError);
        assert.equal(error.kind, 'Network');
        assert.equal(error.message, `No token for Microsoft Graph (${endpoint}/.default): no identity here`);
        return true;
      });
      assert.deepEqual(asked, [{ scopes: [`${endpoint}/.default`], signal: true }]);
      assert.deepEqual(codes, [], 'no HTTP call was made');
    });
  }
});

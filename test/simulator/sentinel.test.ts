import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SecurityInsights, type Incident } from '@azure/arm-securityinsight';
import { ManagedIdentityCredential } from '@azure/identity';
import type { RunningSimulator, WorkspaceInfo } from '../../tools/simulator';
import { startTestSimulator, timed } from './helpers';

const USER_ASSIGNED = '0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a';

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message: string;
}

describe('simulated Sentinel (ARM), through the real SecurityInsights client', () => {
  let sim: RunningSimulator;
  let credential: ManagedIdentityCredential;
  let client: SecurityInsights;
  let ws: WorkspaceInfo;

  const seed = (title = 'Suspicious sign-in from an unfamiliar location') =>
    sim.sentinel.seedIncident({
      title,
      severity: 'Medium',
      accounts: [
        {
          accountName: 'adele.vance',
          upnSuffix: 'contoso.com',
          aadUserId: '8c5a2f1e-0b3d-4e6f-9a7b-1c2d3e4f5a6b',
          friendlyName: 'Adele Vance',
        },
      ],
    });

  before(async () => {
    sim = await startTestSimulator();
    Object.assign(process.env, sim.identityEnv);
    credential = new ManagedIdentityCredential();
    ws = sim.sentinel.defaultWorkspace;
    // The client asks for `${endpoint}/.default` unless credentialScopes says otherwise.
    client = new SecurityInsights(credential, ws.subscriptionId, { endpoint: sim.urls.arm, apiVersion: '2024-09-01' });
  });

  after(() => sim.close());

  it('gets an incident with its ARM id, etag and properties', async () => {
    const seeded = seed();
    const incident = await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    assert.equal(incident.id, seeded.id);
    assert.equal(incident.name, seeded.name);
    assert.equal(incident.type, 'Microsoft.SecurityInsights/Incidents');
    assert.match(incident.etag ?? '', /^"[0-9a-f-]{36}"$/);
    assert.equal(incident.title, seeded.properties.title);
    assert.equal(incident.severity, 'Medium');
    assert.equal(incident.status, 'New');
    assert.equal(incident.incidentNumber, seeded.properties.incidentNumber);
    assert.ok(incident.createdTimeUtc instanceof Date);
    assert.match(incident.incidentUrl ?? '', /^https:\/\/portal\.azure\.com\//);
    assert.deepEqual(incident.labels, []);
    // The token was asked for the simulator's own ARM URL.
    assert.ok(sim.identity.issued().some((token) => token.resource === sim.urls.arm));
  });

  it('replaces an incident with its etag, once, and audits the change', async () => {
    const seeded = seed();
    const incident = await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    const closed = await client.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, {
      ...incident,
      status: 'Closed',
      classification: 'BenignPositive',
      classificationReason: 'SuspiciousButExpected',
      classificationComment: 'User confirmed the sign-in with Incode biometrics.',
      labels: [{ labelName: 'itdr-verified' }],
    });
    assert.equal(closed.status, 'Closed');
    assert.notEqual(closed.etag, incident.etag);
    assert.ok((closed.lastModifiedTimeUtc?.getTime() ?? 0) >= (incident.lastModifiedTimeUtc?.getTime() ?? 0));
    assert.deepEqual(closed.labels, [{ labelName: 'itdr-verified', labelType: 'User' }]);
    assert.equal(closed.title, incident.title, 'fields written back unchanged are kept');

    const updates = sim.sentinel.auditLog(seeded.name).filter((entry) => entry.kind === 'incidentUpdated');
    assert.equal(updates.length, 1);
    assert.deepEqual(Object.keys(updates[0]?.changes ?? {}).sort(), [
      'classification',
      'classificationComment',
      'classificationReason',
      'labels',
      'status',
    ]);
    assert.deepEqual(updates[0]?.changes.status, { from: 'New', to: 'Closed' });
    assert.equal(updates[0]?.actor, sim.systemAssignedClientId);
  });

  it('refuses a stale etag after an analyst edit with 409 Conflict', async () => {
    const seeded = seed();
    const incident = await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    sim.sentinel.simulateAnalystEdit(seeded.name, { severity: 'High', owner: { assignedTo: 'Analyst One', email: 'analyst@contoso.com' } });
    await assert.rejects(
      client.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, { ...incident, status: 'Active' }),
      (error: RestErrorLike) => {
        assert.equal(error.statusCode, 409);
        assert.equal(error.code, 'Conflict');
        assert.equal(error.message, `Newer version of resource 'incidents/${seeded.name}' exists. Data was not saved`);
        return true;
      },
    );
    const fresh = await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    assert.equal(fresh.severity, 'High');
    assert.equal(fresh.owner?.assignedTo, 'Analyst One');
    const updated = await client.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, { ...fresh, status: 'Active' });
    assert.equal(updated.status, 'Active');
    assert.equal(updated.owner?.assignedTo, 'Analyst One');
    assert.deepEqual(
      sim.sentinel.auditLog(seeded.name).map((entry) => entry.kind),
      ['incidentCreated', 'analystEdit', 'incidentUpdated'],
    );
  });

  it('validates enums and requires a classification to close', async () => {
    const seeded = seed();
    const incident = await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    await assert.rejects(
      client.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, { ...incident, status: 'Closed' }),
      (error: RestErrorLike) => error.statusCode === 400 && error.code === 'BadRequest' && /Classification is required/.test(error.message),
    );
    await assert.rejects(
      client.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, { ...incident, severity: 'Critical' }),
      { statusCode: 400, code: 'BadRequest' },
    );
    await assert.rejects(
      client.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, {
        ...incident,
        status: 'Closed',
        classification: 'TruePositive',
        classificationReason: 'IncorrectAlertLogic',
      }),
      { statusCode: 400 },
    );
    assert.equal(sim.sentinel.auditLog(seeded.name).length, 1, 'refused writes are not audited');
  });

  it('keeps one comment per comment id', async () => {
    const seeded = seed();
    const commentId = 'itdr-verify-5c1e0a44';
    await client.incidentComments.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, commentId, {
      message: 'Verification link sent.',
    });
    const second = await client.incidentComments.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, commentId, {
      message: 'Verification link sent.',
    });
    assert.equal(second.name, commentId);
    assert.equal(second.message, 'Verification link sent.');
    const listed = [];
    for await (const comment of client.incidentComments.list(ws.resourceGroup, ws.workspaceName, seeded.name)) listed.push(comment);
    assert.equal(listed.length, 1);
    assert.equal(sim.sentinel.listComments(seeded.name).length, 1);
    assert.deepEqual(
      sim.sentinel.auditLog(seeded.name).map((entry) => entry.kind),
      ['incidentCreated', 'commentCreated', 'commentUpdated'],
    );
    const fetched = await client.incidentComments.get(ws.resourceGroup, ws.workspaceName, seeded.name, commentId);
    assert.equal(fetched.message, 'Verification link sent.');
    assert.equal((await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name)).additionalData?.commentsCount, 1);
  });

  it('lists the account entities and (no) alerts', async () => {
    const seeded = seed();
    const entities = await client.incidents.listEntities(ws.resourceGroup, ws.workspaceName, seeded.name);
    assert.equal(entities.entities?.length, 1);
    const account = entities.entities?.[0] as unknown as Record<string, unknown>;
    assert.equal(account.kind, 'Account');
    assert.equal(account.accountName, 'adele.vance');
    assert.equal(account.upnSuffix, 'contoso.com');
    assert.equal(account.aadUserId, '8c5a2f1e-0b3d-4e6f-9a7b-1c2d3e4f5a6b');
    assert.equal(account.friendlyName, 'Adele Vance');
    assert.deepEqual(entities.metaData, [{ count: 1, entityKind: 'Account' }]);
    const alerts = await client.incidents.listAlerts(ws.resourceGroup, ws.workspaceName, seeded.name);
    assert.deepEqual(alerts.value, []);
  });

  it('answers 404 NotFound for an unknown incident', async () => {
    await assert.rejects(client.incidents.get(ws.resourceGroup, ws.workspaceName, '00000000-0000-0000-0000-000000000000'), {
      statusCode: 404,
      code: 'NotFound',
    });
  });

  it('waits out a 429 Retry-After fault (the SDK retries)', async () => {
    const seeded = seed();
    const fault = sim.faults.add({
      service: 'arm',
      method: 'GET',
      pathIncludes: `/incidents/${seeded.name}`,
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
    });
    const { value, ms } = await timed(() => client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name));
    assert.equal(value.name, seeded.name);
    assert.equal(fault.hits, 1);
    assert.ok(ms >= 950, `retried after ${ms} ms`);
  });

  it('works with the SDK default api-version and a user-assigned identity', async () => {
    const seeded = seed();
    const userAssigned = new SecurityInsights(new ManagedIdentityCredential({ clientId: USER_ASSIGNED }), ws.subscriptionId, {
      endpoint: sim.urls.arm,
    });
    const incident: Incident = await userAssigned.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    await userAssigned.incidents.createOrUpdate(ws.resourceGroup, ws.workspaceName, seeded.name, { ...incident, status: 'Active' });
    assert.equal(sim.sentinel.auditLog(seeded.name).at(-1)?.actor, USER_ASSIGNED);
  });

  it('checks the token, its audience and the api-version, on case-insensitive paths', async () => {
    const seeded = seed();
    const path =
      `/subscriptions/${ws.subscriptionId}/resourcegroups/${ws.resourceGroup.toUpperCase()}/providers` +
      `/microsoft.operationalinsights/workspaces/${ws.workspaceName}/providers/MICROSOFT.SECURITYINSIGHTS/incidents/${seeded.name}`;
    const armToken = (await credential.getToken(`${sim.urls.arm}/.default`)).token;
    const call = (query: string, token?: string) =>
      fetch(`${sim.urls.arm}${path}${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

    const noToken = await call('?api-version=2024-09-01');
    assert.equal(noToken.status, 401);
    assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, 'AuthenticationFailed');
    assert.match(noToken.headers.get('www-authenticate') ?? '', /^Bearer authorization_uri=/);

    const vaultToken = (await credential.getToken('https://vault.azure.net/.default')).token;
    const wrongAudience = await call('?api-version=2024-09-01', vaultToken);
    assert.equal(wrongAudience.status, 401);
    assert.equal(((await wrongAudience.json()) as { error: { code: string } }).error.code, 'InvalidAuthenticationTokenAudience');

    const missing = await call('', armToken);
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'MissingApiVersionParameter');
    const invalid = await call('?api-version=2019-01-01', armToken);
    assert.equal(((await invalid.json()) as { error: { code: string } }).error.code, 'InvalidApiVersionParameter');

    const ok = await call('?api-version=2023-02-01', armToken);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { name: string }).name, seeded.name);

    const publicScope = (await credential.getToken('https://management.azure.com/.default')).token;
    assert.equal((await call('?api-version=2024-09-01', publicScope)).status, 200);

    const badJson = await fetch(`${sim.urls.arm}${path}?api-version=2024-09-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${armToken}`, 'content-type': 'application/json' },
      body: '{"properties":',
    });
    assert.equal(badJson.status, 400);
    assert.equal(((await badJson.json()) as { error: { code: string } }).error.code, 'BadRequest');

    const otherWorkspace = await fetch(`${sim.urls.arm}${path.replace(ws.workspaceName, 'law-elsewhere')}?api-version=2024-09-01`, {
      headers: { authorization: `Bearer ${armToken}` },
    });
    assert.equal(otherWorkspace.status, 404);
    assert.equal(((await otherWorkspace.json()) as { error: { code: string } }).error.code, 'ResourceNotFound');
  });

  it('seeds incidents over HTTP and builds playbook trigger bodies', async () => {
    const response = await fetch(`${sim.urls.arm}/simulator/sentinel/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Impossible travel',
        severity: 'High',
        accounts: [{ accountName: 'alex.wilber', upnSuffix: 'contoso.com' }],
      }),
    });
    assert.equal(response.status, 201);
    const seeded = (await response.json()) as { name: string; id: string; properties: { incidentNumber: number } };
    const incident = await client.incidents.get(ws.resourceGroup, ws.workspaceName, seeded.name);
    assert.equal(incident.title, 'Impossible travel');

    const trigger = sim.sentinel.playbookTrigger(seeded.name) as {
      objectSchemaType: string;
      objectEventType: string;
      workspaceInfo: Record<string, string>;
      object: {
        id: string;
        name: string;
        properties: { incidentNumber: number; relatedEntities: Array<{ kind: string; properties: { accountName: string } }> };
      };
    };
    assert.equal(trigger.objectSchemaType, 'Incident');
    assert.equal(trigger.objectEventType, 'Create');
    assert.deepEqual(trigger.workspaceInfo, {
      SubscriptionId: ws.subscriptionId,
      ResourceGroupName: ws.resourceGroup,
      WorkspaceName: ws.workspaceName,
    });
    assert.equal(trigger.object.id, seeded.id);
    assert.equal(trigger.object.properties.relatedEntities[0]?.properties.accountName, 'alex.wilber');

    const bad = await fetch(`${sim.urls.arm}/simulator/sentinel/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x', severity: 'Critical' }),
    });
    assert.equal(bad.status, 400);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verificationWorkflowId } from '../../src/shared/ids';
import { DEMO_USER, OTHER_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Sentinel names whom a verification checks, never the caller: the gateway reads the incident's account
 * entities with its own identity, and the body's userEmail (or a trigger body's relatedEntities) is a hint
 * that must name one of them.
 */
describe("the subjects of a verification are the incident's accounts in Sentinel", () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const accountOf = (user: string) => {
    const [accountName, upnSuffix] = user.split('@');
    return { accountName, upnSuffix };
  };
  const workflowIdOf = (id: string) => verificationWorkflowId(stack.simulator.sentinel.defaultWorkspace, id);

  it("A's incident, B's email: 422 user_not_in_incident, nothing started; B passing Incode changes nothing", async () => {
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Impossible travel',
      severity: 'Medium',
      accounts: [accountOf(DEMO_USER)],
    });
    const refused = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: OTHER_USER });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'user_not_in_incident');
    assert.equal(
      stack.simulator.incode.listSessions().filter((session) => session.externalCustomerId === incident.name).length,
      0,
      'no Incode session',
    );
    await assert.rejects(stack.client.workflow.getHandle(workflowIdOf(incident.name)).describe(), /not found/i);

    // B goes through Incode anyway, under a session of their own for that incident id: nothing listens.
    const session = stack.simulator.incode.createSession({ loginHint: OTHER_USER, externalCustomerId: incident.name });
    await stack.simulator.incode.completeSession(session.interviewId, 'succeeded');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = stack.simulator.sentinel.getIncident(incident.name)!;
    assert.equal(after.properties.status, 'New');
    assert.equal(after.properties.severity, 'Medium');
    assert.equal(stack.simulator.sentinel.listComments(incident.name).length, 0);
  });

  it("a userEmail that names the incident's account (any case) is accepted, and that account is verified", async () => {
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Unfamiliar sign-in',
      severity: 'Medium',
      accounts: [accountOf(DEMO_USER)],
    });
    const started = await stack.post('/api/incidents', {
      incidentId: incident.name,
      severity: 'Medium',
      userEmail: DEMO_USER.toUpperCase(),
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const session = stack.simulator.incode.listSessions().find((candidate) => candidate.externalCustomerId === incident.name);
    assert.equal(session?.loginHint, DEMO_USER);
    await stack.client.workflow.getHandle(started.body.workflowId).terminate('test done');
  });

  it("a userEmail that is the account's mail in Entra ID (not its UPN) is accepted; another user's mail is not", async () => {
    const upn = 'pat.lee@contoso.onmicrosoft.com';
    const pat = stack.simulator.graph.addUser({ userPrincipalName: upn, mail: 'Pat.Lee@contoso.com', givenName: 'Pat', surname: 'Lee' });
    stack.simulator.graph.addUser({
      userPrincipalName: 'sam.ray@contoso.onmicrosoft.com',
      mail: 'sam.ray@contoso.com',
      givenName: 'Sam',
      surname: 'Ray',
    });
    stack.simulator.incode.addDirectoryUser(upn);
    const account = { accountName: 'pat.lee', upnSuffix: 'contoso.onmicrosoft.com', aadUserId: pat.id };

    const other = stack.simulator.sentinel.seedIncident({ title: 'Impossible travel', severity: 'Medium', accounts: [account] });
    const refused = await stack.post('/api/incidents', { incidentId: other.name, severity: 'Medium', userEmail: 'sam.ray@contoso.com' });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'user_not_in_incident');
    await assert.rejects(stack.client.workflow.getHandle(workflowIdOf(other.name)).describe(), /not found/i);

    const incident = stack.simulator.sentinel.seedIncident({ title: 'Unfamiliar sign-in', severity: 'Medium', accounts: [account] });
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: 'PAT.LEE@contoso.com' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    // The subject is still the account Sentinel names, by its UPN.
    const session = stack.simulator.incode.listSessions().find((candidate) => candidate.externalCustomerId === incident.name);
    assert.equal(session?.loginHint, upn);
    await stack.client.workflow.getHandle(started.body.workflowId).terminate('test done');
  });

  it('no account entity: 422 no_account with a comment, whatever the caller names', async () => {
    const incident = stack.simulator.sentinel.seedIncident({ title: 'No account', severity: 'Medium' });
    const refused = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'no_account');
    assert.match(stack.simulator.sentinel.listComments(incident.name)[0].properties.message, /no account entity/);
  });

  it("a trigger body's relatedEntities are hints: the accounts Sentinel holds are verified", async () => {
    const incident = stack.simulator.sentinel.seedIncident({ title: 'Trigger', severity: 'Medium', accounts: [accountOf(DEMO_USER)] });
    const trigger = stack.simulator.sentinel.playbookTrigger(incident.name) as { object: { properties: { relatedEntities: unknown[] } } };
    // The caller claims another account; Sentinel's own entities win.
    trigger.object.properties.relatedEntities = [{ kind: 'Account', properties: accountOf(OTHER_USER) }];
    const started = await stack.post('/api/incidents', trigger);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const session = stack.simulator.incode.listSessions().find((candidate) => candidate.externalCustomerId === incident.name);
    assert.equal(session?.loginHint, DEMO_USER);
    await stack.client.workflow.getHandle(started.body.workflowId).terminate('test done');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verificationWorkflowId } from '../../src/shared/ids';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, DEMO_USER, startTestStack, type TestStack } from '../helpers/stack';

/**
 * The whole product: gateway → Temporal (real dev server) → worker with the real Azure SDK clients →
 * simulator (Incode, Sentinel, Key Vault, managed identity), and Incode's webhook back to the gateway.
 */
describe('verification end to end', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  function seed(user = DEMO_USER, title = 'Impossible travel activity') {
    const [accountName, upnSuffix] = user.split('@');
    return stack.simulator.sentinel.seedIncident({ title, severity: 'Medium', accounts: [{ accountName, upnSuffix }] });
  }
  const incidentOf = (id: string) => stack.simulator.sentinel.getIncident(id)!;
  const commentsOf = (id: string) => stack.simulator.sentinel.listComments(id).map((comment) => comment.properties.message);
  const workflowIdOf = (id: string) => verificationWorkflowId(stack.simulator.sentinel.defaultWorkspace, id);
  /** The ARM writes the product made to the incident, as the simulated Sentinel recorded them (not the seed's). */
  const writesTo = (id: string) => stack.simulator.sentinel.auditLog(id).filter((entry) => entry.actor !== 'seed');

  it('verified: returns the link, and the incident is closed as a false positive once the user passes', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.status, 'verification_initiated');
    assert.equal(started.body.workflowId, workflowIdOf(incident.name));
    const session = stack.simulator.incode.listSessions().find((candidate) => candidate.externalCustomerId === incident.name);
    assert.ok(session, 'Incode session created with externalCustomerId = incident id');
    assert.equal(session.loginHint, DEMO_USER);
    // The link is the gateway's confirmation page, not Incode's.
    assert.ok(started.body.verificationUrl.startsWith(`${stack.gateway.url}/confirm/`), started.body.verificationUrl);
    const question = await fetch(started.body.verificationUrl);
    assert.equal(question.status, 200);
    assert.match(await question.text(), /Was this you\?[\s\S]*Impossible travel activity[\s\S]*This was me[\s\S]*This wasn/);
    const answered = await answerConfirmationPage(started.body.verificationUrl, 'was-me');
    assert.equal(answered.status, 303);
    assert.equal(answered.location, `${stack.simulator.urls.incodeApi}/verify/${session.interviewId}`);

    // The user goes on to Incode and clicks "Verified" on the (simulated) Incode page.
    const incodeUrl = answered.location;
    const page = await fetch(incodeUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Verified/);
    const click = await fetch(`${incodeUrl}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=succeeded',
    });
    assert.equal(click.status, 200);

    const closed = await eventually(async () =>
      incidentOf(incident.name).properties.status === 'Closed' ? incidentOf(incident.name) : undefined,
    );
    assert.equal(closed.properties.classification, 'FalsePositive');
    assert.equal(closed.properties.classificationReason, 'IncorrectAlertLogic');
    assert.match(String(closed.properties.classificationComment), new RegExp(session.interviewId));
    const outcome = await stack.client.workflow.getHandle(workflowIdOf(incident.name)).result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.confirmedBy, 'webhook+read-back');
    const comments = commentsOf(incident.name);
    assert.equal(comments.length, 1, comments.join('\n---\n'));
    assert.match(comments[0], /Identity verification requested for (demo\.user <)?demo\.user@contoso\.com/);
    assert.match(comments[0], /Requested by: local-dev/);
    // The close's classification comment is the audit of every step since the request.
    const audit = String(closed.properties.classificationComment);
    assert.match(audit, /answered "This was me" on the confirmation page at .*\nAnswered from IP address 127\.0\.0\.1/);
    assert.match(audit, /confirmed the activity \("This was me", at .*\) and then passed the biometric identity verification/);
    // Exactly two ARM writes for a verified verdict: the "requested" comment and the closing PUT.
    const writes = writesTo(incident.name);
    assert.deepEqual(
      writes.map((entry) => entry.kind),
      ['commentCreated', 'incidentUpdated'],
      JSON.stringify(writes),
    );
    assert.equal(writes[1].changes.status?.to, 'Closed');

    const status = await stack.get(`/api/incidents/${incident.name}`);
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'Verified');
    assert.equal(status.body.running, false);
  });

  it('failed: escalates to High, Active, labelled, with a comment', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(started.status, 200);
    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    const done = await fetch(`${stack.simulator.urls.incodeApi}/simulator/incode/sessions/${started.body.interviewId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'failed' }),
    });
    assert.equal(done.status, 200);
    assert.equal(((await done.json()) as { webhook: { delivered: boolean } }).webhook.delivered, true);

    const escalated = await eventually(async () => {
      const current = incidentOf(incident.name);
      return current.properties.severity === 'High' ? current : undefined;
    });
    assert.equal(escalated.properties.status, 'Active');
    assert.deepEqual(
      escalated.properties.labels?.map((label) => label.labelName),
      ['identity-verification-failed'],
    );
    const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
    assert.equal(outcome.status, 'Failed');
    const comments = commentsOf(incident.name);
    assert.equal(comments.length, 2, comments.join('\n---\n'));
    // The user's answer is recorded with the decision, before it.
    assert.match(comments[1], /answered "This was me" on the confirmation page at [\s\S]*FAILED the biometric identity verification/);
    // Exactly three ARM writes for an escalation: the "requested" comment, the PUT (severity, label, Active)
    // and the decision's comment (an Active incident has no field for it).
    assert.deepEqual(
      writesTo(incident.name).map((entry) => entry.kind),
      ['commentCreated', 'incidentUpdated', 'commentCreated'],
    );
  });

  it("a close whose answer was lost is retried and recorded as our close, not as an analyst's", async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    assert.equal(started.status, 200);
    // ARM applies the closing PUT, then the connection drops: the retry finds the incident already closed.
    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    const lost = stack.simulator.faults.add({
      service: 'arm',
      method: 'PUT',
      pathIncludes: `/incidents/${incident.name}?`,
      loseResponse: true,
      times: 1,
    });
    const done = await fetch(`${stack.simulator.urls.incodeApi}/simulator/incode/sessions/${started.body.interviewId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'succeeded' }),
    });
    assert.equal(done.status, 200);
    const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
    assert.equal(lost.hits, 1, 'the closing PUT lost its answer once');
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.incidentAction, 'Closed');
    assert.equal(incidentOf(incident.name).properties.status, 'Closed');
    const comments = commentsOf(incident.name);
    assert.equal(comments.length, 1, comments.join('\n---\n'));
    assert.match(String(incidentOf(incident.name).properties.classificationComment), /passed the biometric identity verification/);
    assert.ok(comments.every((comment) => !/already been closed by an analyst/.test(comment)));
    assert.equal(stack.simulator.sentinel.auditLog(incident.name).filter((entry) => entry.changes.status?.to === 'Closed').length, 1);
  });

  it('repeating the same incident returns the same verification and creates no second Incode session', async () => {
    const incident = seed();
    const body = { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER };
    const [first, second] = await Promise.all([stack.post('/api/incidents', body), stack.post('/api/incidents', body)]);
    const third = await stack.post('/api/incidents', body);
    assert.deepEqual([first.status, second.status, third.status], [200, 200, 200]);
    assert.equal(new Set([first.body.verificationUrl, second.body.verificationUrl, third.body.verificationUrl]).size, 1);
    assert.equal(new Set([first.body.workflowId, second.body.workflowId, third.body.workflowId]).size, 1);
    const sessions = stack.simulator.incode.listSessions().filter((session) => session.externalCustomerId === incident.name);
    assert.equal(sessions.length, 1);
    await stack.client.workflow.getHandle(first.body.workflowId).terminate('test done');
  });

  it('a user unknown to Incode (5504) gets a clear 422 and the incident is escalated', async () => {
    const incident = seed('nobody@contoso.com');
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Low', userEmail: 'nobody@contoso.com' });
    assert.equal(started.status, 422, JSON.stringify(started.body));
    assert.equal(started.body.error.code, 'user_not_in_incode_directory');
    assert.match(started.body.error.message, /5504/);
    const escalated = await eventually(async () =>
      incidentOf(incident.name).properties.severity === 'High' ? incidentOf(incident.name) : undefined,
    );
    assert.equal(escalated.properties.status, 'Active');
    const comments = await eventually(async () => (commentsOf(incident.name).length === 1 ? commentsOf(incident.name) : undefined));
    assert.match(comments[0], /not in the Incode integration's directory/);
  });

  it('accepts the Sentinel playbook trigger body and takes the user from its account entity', async () => {
    const incident = seed(DEMO_USER, 'New device sign-in');
    const trigger = stack.simulator.sentinel.playbookTrigger(incident.name, 'Create');
    const started = await stack.post('/api/incidents', trigger);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.status, 'verification_initiated');
    const session = stack.simulator.incode.listSessions().find((candidate) => candidate.externalCustomerId === incident.name);
    assert.equal(session?.loginHint, DEMO_USER);
    await stack.client.workflow.getHandle(started.body.workflowId).terminate('test done');
  });

  it('an incident Sentinel does not know is refused with 404 and starts nothing', async () => {
    const started = await stack.post('/api/incidents', { incidentId: 'no-such-incident', severity: 'High', userEmail: DEMO_USER });
    assert.equal(started.status, 404);
    assert.equal(started.body.error.code, 'unknown_incident');
    await assert.rejects(stack.client.workflow.getHandle(workflowIdOf('no-such-incident')).describe(), /not found/i);
  });

  it('webhooks: unknown incident → 404, wrong secret → 401, malformed → 400; none signals anything', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, severity: 'Medium', userEmail: DEMO_USER });
    const handle = stack.client.workflow.getHandle(started.body.workflowId);
    const signalsReceived = async () =>
      ((await handle.fetchHistory()).events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes).length;

    const unknown = await stack.webhook({ eventType: 'SESSION_SUCCEEDED', externalCustomerId: 'not-an-incident', interviewId: 'abc' });
    assert.equal(unknown.status, 404);
    const forged = await stack.webhook(
      { eventType: 'SESSION_SUCCEEDED', externalCustomerId: incident.name },
      'wrong-secret-wrong-secret-wrong',
    );
    assert.equal(forged.status, 401);
    const malformed = await stack.post('/api/webhooks/incode', '{"eventType": "SESSION_SUCC', {
      [stack.gatewayConfig.webhook.headerName]: stack.webhookSecret,
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'malformed_json');
    const wrongTypes = await stack.webhook({ eventType: ['SESSION_SUCCEEDED'], externalCustomerId: incident.name });
    assert.equal(wrongTypes.status, 400);

    assert.equal(await signalsReceived(), 0, 'no signal reached the workflow');
    assert.equal(incidentOf(incident.name).properties.status, 'New');
    await handle.terminate('test done');
  });

  it('control endpoints refuse missing or wrong API keys, bad content types and huge bodies', async () => {
    const body = { incidentId: 'x1', userEmail: DEMO_USER };
    assert.equal((await stack.post('/api/incidents', body, { 'x-api-key': '' })).status, 401);
    assert.equal((await stack.post('/api/incidents', body, { 'x-api-key': 'guess-guess-guess-guess-guess' })).status, 401);
    assert.equal((await stack.get('/api/incidents/x1', { 'x-api-key': 'nope' })).status, 401);
    assert.equal((await stack.post('/api/incidents', 'incidentId=x1', { 'content-type': 'text/plain' })).status, 415);
    const huge = await stack.post('/api/incidents', { incidentId: 'x1', userEmail: DEMO_USER, padding: 'x'.repeat(200_000) });
    assert.equal(huge.status, 413);
    const invalid = await stack.post('/api/incidents', { incidentId: 'x1', userEmail: 'not-an-email' });
    assert.equal(invalid.status, 400);
    assert.match(JSON.stringify(invalid.body.error.issues), /userEmail/);
    assert.equal((await stack.get('/healthz', {})).status, 200);
    assert.equal((await stack.get('/readyz', {})).body.status, 'ready');
  });

  it('asks the entities endpoint when the trigger body carries no account, and answers 422 with a comment when there is none', async () => {
    const incident = seed(DEMO_USER, 'Trimmed trigger');
    const trigger = stack.simulator.sentinel.playbookTrigger(incident.name, 'Create') as {
      object: { properties: Record<string, unknown> };
    };
    delete trigger.object.properties.relatedEntities;
    const started = await stack.post('/api/incidents', trigger);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(
      stack.simulator.incode.listSessions().find((session) => session.externalCustomerId === incident.name)?.loginHint,
      DEMO_USER,
    );
    await stack.client.workflow.getHandle(started.body.workflowId).terminate('test done');

    const nobody = stack.simulator.sentinel.seedIncident({ title: 'Malware on a host', severity: 'Medium', accounts: [] });
    const refused = await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(nobody.name, 'Create'));
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'no_account');
    assert.match(commentsOf(nobody.name)[0], /No identity verification was started: the incident has no account entity/);
    await assert.rejects(stack.client.workflow.getHandle(workflowIdOf(nobody.name)).describe(), /not found/i);
  });

  it('an incident deleted while waiting ends the verification cleanly', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    assert.equal(started.status, 200);
    await eventually(async () => (commentsOf(incident.name).length === 1 ? true : undefined));
    assert.equal((await answerConfirmationPage(started.body.verificationUrl, 'was-me')).status, 303);
    stack.simulator.sentinel.deleteIncident(stack.simulator.sentinel.defaultWorkspace, incident.name, 'analyst');
    await stack.simulator.incode.completeSession(started.body.interviewId, 'succeeded');
    const outcome = await stack.client.workflow.getHandle(started.body.workflowId).result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(outcome.incidentAction, 'None', 'nothing to close: the incident is gone');
  });

  it('no secret, token or verification link is in the workflow history or search attributes', async () => {
    const incident = seed();
    const started = await stack.post('/api/incidents', { incidentId: incident.name, userEmail: DEMO_USER });
    const handle = stack.client.workflow.getHandle(started.body.workflowId);
    const answered = await answerConfirmationPage(started.body.verificationUrl, 'was-me');
    await stack.simulator.incode.completeSession(started.body.interviewId, 'succeeded');
    await handle.result();
    // Read the raw history with a client that has no decryption key, as the server and its Web UI see it.
    const raw = allText(await handle.fetchHistory());
    const description = JSON.stringify((await handle.describe()).searchAttributes);
    // Neither the page's signed link nor Incode's link it leads to.
    for (const secret of [
      started.body.verificationUrl.split('/confirm/')[1],
      answered.location!,
      `/verify/${started.body.interviewId}`,
      stack.apiKey,
      stack.webhookSecret,
      stack.simulator.incode.config.clientSecret,
    ]) {
      assert.ok(!raw.includes(secret), `history leaks ${secret.slice(0, 12)}…`);
      assert.ok(!description.includes(secret), `search attributes leak ${secret.slice(0, 12)}…`);
    }
    assert.ok(raw.includes('binary/encrypted'), 'payloads are encrypted');
  });

  it('no secret, token or verification link appears in the logs', async () => {
    const links = stack.simulator.incode.listSessions().map((session) => `/verify/${session.interviewId}`);
    assert.ok(links.length > 0);
    const text = stack.logs.text;
    assert.ok(stack.logs.lines.length > 10, 'logs were captured');
    for (const secret of [
      stack.apiKey,
      stack.webhookSecret,
      stack.simulator.incode.config.clientSecret,
      stack.simulator.incode.config.apiKey,
      ...links,
    ]) {
      assert.ok(!text.includes(secret), `log leaks ${secret.slice(0, 6)}…`);
    }
  });
});

/** Every string and byte field of a protobuf object tree, bytes read as text, so a plaintext leak is visible. */
function allText(root: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (value === null || value === undefined || seen.has(value)) return;
    if (typeof value === 'string') parts.push(value);
    else if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('latin1'));
    else if (typeof value === 'object') {
      seen.add(value);
      for (const child of Object.values(value as Record<string, unknown>)) walk(child);
    }
  };
  walk(root);
  return parts.join('\n');
}

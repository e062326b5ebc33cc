import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { statusQuery } from '../../src/shared/messages';
import { eventually } from '../helpers/temporal';
import { answerConfirmationPage, startTestStack, type TestStack } from '../helpers/stack';

/**
 * A policy file choosing behaviour by incident severity and Entra group membership, with Microsoft Graph
 * (simulated) for profiles, remediation and link emails, end to end through the gateway.
 */
const PRIVILEGED_GROUP = '0b6f1a52-5c3e-4d6f-9a1b-2c3d4e5f6a7b';
const MAIL_FROM = 'security@contoso.com';

const POLICY = `
defaults:
  linkDelivery: graph-email
  mailFrom: ${MAIL_FROM}
  unknownUser: review
  guestUsers: escalate
  reviewTimeout: 1h
rules:
  - name: privileged accounts
    when: { groups: ["${PRIVILEGED_GROUP}"] }
    set:
      remediation: [revokeSessions, disableAccount]
  - name: low severity needs a profile match
    when: { severities: [Low] }
    set:
      profileMatching: true
  - name: high severity uses Incode's email
    when: { severities: [High] }
    set:
      linkDelivery: incode-email
      verificationLink: incode-direct
`;

describe('policies and Microsoft Graph end to end', () => {
  let stack: TestStack;

  before(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'itdr-policy-'));
    const policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    stack = await startTestStack({ POLICY_FILE: policyFile, VERIFICATION_TIMEOUT: '1h', RESULT_POLL_INTERVAL: '1h' });
    stack.simulator.graph.addUser({ userPrincipalName: MAIL_FROM, givenName: 'Security', surname: 'Operations' });
  });
  after(async () => {
    await stack?.stop();
  });

  function user(
    upn: string,
    extra: { groups?: string[]; birthday?: string; givenName?: string; surname?: string; userType?: 'Member' | 'Guest' } = {},
  ) {
    const [accountName, upnSuffix] = upn.split('#EXT#')[0].split('@');
    stack.simulator.incode.addDirectoryUser(upn);
    const graphUser = stack.simulator.graph.addUser({ userPrincipalName: upn, givenName: 'Ann', surname: 'Example', ...extra });
    return { accountName, upnSuffix, aadUserId: graphUser.id, upn };
  }
  async function start(account: ReturnType<typeof user>, severity: 'Medium' | 'Low' | 'High' = 'Medium') {
    const incident = stack.simulator.sentinel.seedIncident({
      title: 'Suspicious sign-in',
      severity,
      accounts: [{ accountName: account.accountName, upnSuffix: account.upnSuffix, aadUserId: account.aadUserId }],
    });
    const response = await stack.post('/api/incidents', stack.simulator.sentinel.playbookTrigger(incident.name, 'Create'));
    return { incident, response };
  }
  const comments = (id: string) => stack.simulator.sentinel.listComments(id).map((comment) => comment.properties.message);

  it('emails the link through Graph, and remediates a privileged account that fails', async () => {
    const admin = user('priv.admin@contoso.com', { groups: [PRIVILEGED_GROUP] });
    const { incident, response } = await start(admin);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    // The link is returned as soon as the session exists; the email follows.
    const mail = await eventually(
      async () => stack.simulator.graph.outbox().find((message) => message.to.includes(admin.upn)),
      10_000,
      'the link email',
    );
    assert.equal(mail.from, MAIL_FROM);
    // The mail carries the confirmation page's link (the same one the caller got), and how to report it.
    assert.ok(mail.body.includes(response.body.verificationUrl.replace(/&/g, '&amp;')), mail.body);
    assert.match(mail.body, /report it to your security team/);
    await eventually(async () => (comments(incident.name).length === 1 ? true : undefined));
    assert.match(comments(incident.name)[0], /emailed to priv\.admin@contoso\.com from security@contoso\.com/);
    assert.match(comments(incident.name)[0], /Policy: privileged accounts/);
    const query = `WorkflowId = '${response.body.workflowId}' AND VerificationPolicy = 'privileged accounts'`;
    await eventually(
      async () => {
        for await (const execution of stack.client.workflow.list({ query })) return execution.workflowId;
        return undefined;
      },
      10_000,
      'the workflow to be searchable by its policy',
    );

    await stack.simulator.incode.completeSession(response.body.interviewId, 'failed');
    const outcome = await stack.client.workflow.getHandle(response.body.workflowId).result();
    assert.equal(outcome.status, 'Failed');
    const graphUser = stack.simulator.graph.getUser(admin.upn)!;
    assert.equal(graphUser.accountEnabled, false);
    assert.equal(stack.simulator.graph.revokeCount(admin.upn), 1);
    assert.match(
      comments(incident.name).at(-1)!,
      /Remediation \(Microsoft Graph\): revoke sign-in sessions: done; disable the account: done/,
    );
  });

  it('explains a remediation the app lacks the permission for instead of failing', async () => {
    stack.simulator.graph.denyPermission('User.EnableDisableAccount.All');
    try {
      const admin = user('priv.second@contoso.com', { groups: [PRIVILEGED_GROUP] });
      const { incident, response } = await start(admin);
      await stack.simulator.incode.completeSession(response.body.interviewId, 'failed');
      await stack.client.workflow.getHandle(response.body.workflowId).result();
      assert.equal(stack.simulator.graph.getUser(admin.upn)!.accountEnabled, true);
      assert.match(comments(incident.name).at(-1)!, /disable the account: skipped \(.*User\.EnableDisableAccount\.All/);
      assert.match(comments(incident.name).at(-1)!, /revoke sign-in sessions: done/);
    } finally {
      stack.simulator.graph.resetPermissions();
    }
  });

  it('escalates a guest account at once with a clear 422', async () => {
    // The entity names the guest by their home address; Graph, asked by object id, says Guest.
    const guest = user('partner@fabrikam.com', { userType: 'Guest' });
    const { incident, response } = await start(guest);
    assert.equal(response.status, 422, JSON.stringify(response.body));
    assert.equal(response.body.error.code, 'guest_account');
    await eventually(async () => (stack.simulator.sentinel.getIncident(incident.name)!.properties.severity === 'High' ? true : undefined));
    assert.equal(stack.simulator.incode.listSessions().filter((session) => session.externalCustomerId === incident.name).length, 0);
  });

  it('sends a user Incode does not know (5504) to manual review, where a reviewer decides', async () => {
    const unknown = user('not.in.incode@contoso.com');
    stack.simulator.incode.removeDirectoryUser(unknown.upn);
    const { incident, response } = await start(unknown);
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.equal(response.body.status, 'manual_review');
    const approved = await stack.post(`/api/incidents/${incident.name}/review`, {
      decision: 'approve',
      note: 'verified in person at the service desk',
    });
    assert.equal(approved.status, 200);
    const outcome = await stack.client.workflow.getHandle(response.body.workflowId).result();
    assert.equal(outcome.status, 'Verified');
    assert.equal(stack.simulator.sentinel.getIncident(incident.name)!.properties.status, 'Closed');
  });

  it('profile matching: a matching document closes; a mismatching one waits for review and never closes by itself', async () => {
    const alice = user('alice.martin@contoso.com', { givenName: 'Alice', surname: 'Martin', birthday: '1990-04-12' });
    const matching = await start(alice, 'Low');
    assert.equal((await answerConfirmationPage(matching.response.body.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(matching.response.body.interviewId, 'succeeded', {
      verifiedIdentity: { firstName: 'ALICE', lastName: 'Martín', birthDate: '1990-04-12' },
    });
    const ok = await stack.client.workflow.getHandle(matching.response.body.workflowId).result();
    assert.equal(ok.status, 'Verified');
    assert.match(
      String(stack.simulator.sentinel.getIncident(matching.incident.name)!.properties.classificationComment),
      /matches the Entra profile/,
    );

    const bob = user('bob.stone@contoso.com', { givenName: 'Bob', surname: 'Stone', birthday: '1985-01-01' });
    const mismatching = await start(bob, 'Low');
    assert.equal((await answerConfirmationPage(mismatching.response.body.verificationUrl, 'was-me')).status, 303);
    await stack.simulator.incode.completeSession(mismatching.response.body.interviewId, 'succeeded', {
      verifiedIdentity: { firstName: 'Robert', lastName: 'Stein', birthDate: '1979-06-30' },
    });
    const handle = stack.client.workflow.getHandle(mismatching.response.body.workflowId);
    const waiting = await eventually(async () => {
      const state = await handle.query(statusQuery);
      return state.status === 'AwaitingReview' ? state : undefined;
    });
    assert.equal(waiting.profileMatch, 'mismatch');
    assert.equal(stack.simulator.sentinel.getIncident(mismatching.incident.name)!.properties.status, 'New');
    const rejected = await stack.post(`/api/incidents/${mismatching.incident.name}/review`, { decision: 'reject' });
    assert.equal(rejected.status, 200);
    assert.equal((await handle.result()).status, 'Failed');
    assert.equal(stack.simulator.sentinel.getIncident(mismatching.incident.name)!.properties.severity, 'High');
  });
  it("delivers the link by Incode's own email when the policy says so, and says so on the incident", async () => {
    const carol = user('carol.high@contoso.com');
    const { incident, response } = await start(carol, 'High');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const session = stack.simulator.incode.listSessions().find((candidate) => candidate.interviewId === response.body.interviewId);
    assert.equal(session?.notification?.type, 'EMAIL');
    assert.equal(session?.notification?.email, carol.upn);
    await eventually(async () => (comments(incident.name).length === 1 ? true : undefined));
    assert.match(comments(incident.name)[0], /sent to carol\.high@contoso\.com by Incode's email/);
    await stack.client.workflow.getHandle(response.body.workflowId).terminate('test done');
  });
});

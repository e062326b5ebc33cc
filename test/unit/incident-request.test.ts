import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emailOfAccount, IncidentRequestError, parseIncidentRequest } from '../../src/gateway/incident-request';

const SUB = '11111111-2222-3333-4444-555555555555';
const INCIDENT = '7f3b2c1a-0000-4000-8000-000000000042';
const ARM_ID =
  `/subscriptions/${SUB}/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-ws/providers` +
  `/Microsoft.SecurityInsights/Incidents/${INCIDENT}`;

function playbookBody(overrides: Record<string, unknown> = {}) {
  return {
    objectSchemaType: 'Incident',
    objectEventType: 'Create',
    workspaceId: 'b9f1c7e0-0000-0000-0000-000000000000',
    workspaceInfo: { SubscriptionId: SUB, ResourceGroupName: 'other-rg', WorkspaceName: 'other-ws' },
    object: {
      id: ARM_ID,
      name: INCIDENT,
      etag: '"abc"',
      properties: {
        title: 'Impossible travel',
        severity: 'Medium',
        status: 'New',
        incidentNumber: 42,
        relatedEntities: [
          { kind: 'Ip', properties: { address: '203.0.113.9' } },
          { kind: 'Account', properties: { accountName: 'Alice', upnSuffix: 'Contoso.com', aadUserId: 'a-1', friendlyName: 'Alice' } },
        ],
      },
    },
    ...overrides,
  };
}

describe('parseIncidentRequest', () => {
  it('says "is required" for a missing field and names the shape for a malformed one', () => {
    const issues = (body: unknown) => {
      try {
        parseIncidentRequest(body);
      } catch (error) {
        if (error instanceof IncidentRequestError) return error.issues;
        throw error;
      }
      return assert.fail('accepted');
    };
    assert.deepEqual(issues({ incidentId: 'inc-1' }), ['userEmail: is required']);
    assert.deepEqual(issues({ incidentId: 'inc-1', userEmail: 'not-an-address' }), ['userEmail: must be an email address']);
    assert.deepEqual(issues({ userEmail: 'a@contoso.com' }), ['incidentId: is required']);
    assert.deepEqual(issues({ incidentId: '../x', userEmail: 'a@contoso.com' }), [
      'incidentId: must be 1-128 letters, digits, ".", "_" or "-"',
    ]);
  });

  it('accepts the simple body of Incode’s guide and lower-cases the email', () => {
    const parsed = parseIncidentRequest({ incidentId: 'test-incident-001', severity: 'High', userEmail: 'Demo.User@Contoso.com' });
    assert.deepEqual(parsed, {
      source: 'simple',
      incidentId: 'test-incident-001',
      severity: 'High',
      userEmail: 'demo.user@contoso.com',
      accounts: [],
    });
  });

  it('takes workspace and incident from object.id, not workspaceInfo, and keeps only account entities', () => {
    const parsed = parseIncidentRequest(playbookBody());
    assert.equal(parsed.source, 'sentinel-playbook');
    assert.equal(parsed.incidentId, INCIDENT);
    assert.deepEqual(parsed.workspace, { subscriptionId: SUB, resourceGroup: 'soc-rg', workspaceName: 'soc-ws' });
    assert.equal(parsed.severity, 'Medium');
    assert.equal(parsed.accounts.length, 1);
    assert.equal(emailOfAccount(parsed.accounts[0]), 'alice@contoso.com');
  });

  it('falls back to workspaceInfo and object.name when the resource id is absent', () => {
    const body = playbookBody();
    delete (body.object as Record<string, unknown>).id;
    const parsed = parseIncidentRequest(body);
    assert.deepEqual(parsed.workspace, { subscriptionId: SUB, resourceGroup: 'other-rg', workspaceName: 'other-ws' });
    assert.equal(parsed.incidentId, INCIDENT);
  });

  const bad: Array<[string, unknown]> = [
    ['an array', []],
    ['null', null],
    ['a string', 'incident'],
    ['a missing email', { incidentId: 'x1', severity: 'High' }],
    ['an email of the wrong type', { incidentId: 'x1', userEmail: 42 }],
    ['a malformed email', { incidentId: 'x1', userEmail: 'not-an-email' }],
    ['an unknown severity', { incidentId: 'x1', userEmail: 'a@b.co', severity: 'Critical' }],
    ['a path in the incident id', { incidentId: '../../etc/passwd', userEmail: 'a@b.co' }],
    ['an extra field', { incidentId: 'x1', userEmail: 'a@b.co', admin: true }],
    ['a foreign resource id', playbookBody({ object: { id: '/subscriptions/x/resourceGroups/y/providers/Other/z', name: INCIDENT } })],
    [
      'a malformed subscription',
      playbookBody({ object: { name: INCIDENT }, workspaceInfo: { SubscriptionId: 'nope', ResourceGroupName: 'a', WorkspaceName: 'b' } }),
    ],
    ['no workspace at all', playbookBody({ object: { name: INCIDENT }, workspaceInfo: undefined })],
  ];
  for (const [label, body] of bad) {
    it(`refuses ${label} with a message naming the problem`, () => {
      assert.throws(
        () => parseIncidentRequest(body),
        (error: unknown) => {
          assert.ok(error instanceof IncidentRequestError);
          assert.ok(error.message.length > 10);
          return true;
        },
      );
    });
  }

  it('does not let __proto__ in the body reach the result', () => {
    const body = JSON.parse('{"incidentId":"x1","userEmail":"a@b.co","__proto__":{"polluted":true}}');
    assert.throws(() => parseIncidentRequest(body), IncidentRequestError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IncidentResource, RunningSimulator, WorkspaceInfo } from '../../tools/simulator';
import { SentinelStore, type WritableIncidentProperties } from '../../tools/simulator/sentinel-store';
import { collectIncidents, renderSentinelPage, type IncidentDetailView, type IncidentView } from '../../tools/simulator/sentinel-view';
import { startTestSimulator } from './helpers';

const XSS_TITLE = 'Sign-in <script>alert(1)</script> from Tor';
const COMMENT = 'Identity verified with Incode.\nSession 65f1 <img src=x onerror=alert(2)> & "done"';
const OTHER_WORKSPACE = { resourceGroup: 'rg-other', workspaceName: 'law-other' };

function writable(incident: IncidentResource, patch: Partial<WritableIncidentProperties>): WritableIncidentProperties {
  const { title, description, severity, status, classification, classificationReason, classificationComment, owner, labels } =
    incident.properties;
  return { title, description, severity, status, classification, classificationReason, classificationComment, owner, labels, ...patch };
}

describe('simulated Sentinel, as a person sees it (/simulator/sentinel)', () => {
  let sim: RunningSimulator;
  let ws: WorkspaceInfo;
  let closed: IncidentResource;
  let escalated: IncidentResource;

  before(async () => {
    sim = await startTestSimulator();
    ws = sim.sentinel.defaultWorkspace;
    closed = sim.sentinel.seedIncident({
      title: 'Suspicious sign-in from an unfamiliar location',
      severity: 'Medium',
      accounts: [{ accountName: 'adele.vance', upnSuffix: 'contoso.com', friendlyName: 'Adele Vance' }],
    });
    escalated = sim.sentinel.seedIncident({
      title: XSS_TITLE,
      severity: 'Low',
      accounts: [{ accountName: 'megan.bowen', upnSuffix: 'contoso.com' }],
      workspace: OTHER_WORKSPACE,
    });
    const otherWs = { ...ws, ...OTHER_WORKSPACE };

    const comment = sim.sentinel.putComment(ws, closed.name, 'c-1', COMMENT, undefined, 'itdr-worker');
    assert.equal(comment.ok, true);
    const close = sim.sentinel.putIncident(
      ws,
      closed.name,
      writable(closed, {
        status: 'Closed',
        classification: 'BenignPositive',
        classificationReason: 'SuspiciousButExpected',
        classificationComment: 'User confirmed the sign-in with Incode biometrics.',
        labels: [{ labelName: 'itdr-verified' }],
      }),
      closed.etag,
      'itdr-worker',
    );
    assert.equal(close.ok, true);
    const escalate = sim.sentinel.putIncident(
      otherWs,
      escalated.name,
      writable(escalated, { severity: 'High', status: 'Active', labels: [{ labelName: 'itdr-verification-failed' }] }),
      escalated.etag,
      'itdr-worker',
    );
    assert.equal(escalate.ok, true);
    assert.equal(
      sim.sentinel.putComment(otherWs, escalated.name, 'c-2', 'Verification failed: escalated.', undefined, 'itdr-worker').ok,
      true,
    );
  });

  after(() => sim.close());

  it('lists every incident of every workspace as JSON, newest first, with labels, accounts and comments', async () => {
    const res = await fetch(`${sim.urls.arm}/simulator/sentinel/incidents`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const { value } = (await res.json()) as { value: IncidentView[] };
    assert.deepEqual(
      value.map((incident) => incident.name),
      [escalated.name, closed.name],
    );
    const [first, second] = value as [IncidentView, IncidentView];

    assert.equal(first.workspace.workspaceName, 'law-other');
    assert.equal(first.properties.title, XSS_TITLE);
    assert.equal(first.properties.severity, 'High');
    assert.equal(first.properties.status, 'Active');
    assert.deepEqual(first.properties.labels, [{ labelName: 'itdr-verification-failed', labelType: 'User' }]);
    assert.equal(first.accounts[0]?.accountName, 'megan.bowen');
    assert.deepEqual(
      first.comments.map((comment) => comment.message),
      ['Verification failed: escalated.'],
    );

    assert.equal(second.workspace.workspaceName, ws.workspaceName);
    assert.equal(second.properties.status, 'Closed');
    assert.equal(second.properties.classification, 'BenignPositive');
    assert.equal(second.properties.classificationReason, 'SuspiciousButExpected');
    assert.equal(second.properties.classificationComment, 'User confirmed the sign-in with Incode biometrics.');
    assert.equal(second.comments.length, 1);
    assert.equal(second.comments[0]?.message, COMMENT);
    assert.ok(!Number.isNaN(Date.parse(second.comments[0]?.createdTimeUtc ?? '')));
    assert.equal(second.comments[0]?.author.name, 'itdr-worker');
  });

  it('gets one incident with comments and audit log, and 404s an unknown one', async () => {
    const res = await fetch(`${sim.urls.arm}/simulator/sentinel/incidents/${encodeURIComponent(closed.name)}`);
    assert.equal(res.status, 200);
    const incident = (await res.json()) as IncidentDetailView;
    assert.equal(incident.id, closed.id);
    assert.equal(incident.properties.status, 'Closed');
    assert.equal(incident.comments[0]?.message, COMMENT);
    assert.deepEqual(
      incident.audit.map((entry) => entry.kind),
      ['incidentCreated', 'commentCreated', 'incidentUpdated'],
    );
    assert.deepEqual(incident.audit[2]?.changes.status, { from: 'New', to: 'Closed' });

    const other = (await (await fetch(`${sim.urls.arm}/simulator/sentinel/incidents/${escalated.name}`)).json()) as IncidentDetailView;
    assert.equal(other.workspace.workspaceName, 'law-other');
    assert.equal(other.comments.length, 1, 'comments are found in the incident’s own workspace');

    const missing = await fetch(`${sim.urls.arm}/simulator/sentinel/incidents/no-such-incident`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NotFound');
  });

  it('renders an escaped, self-refreshing HTML page with status, classification, labels, accounts and comments', async () => {
    const res = await fetch(`${sim.urls.arm}/simulator/sentinel`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();

    assert.match(html, /<meta http-equiv="refresh" content="5">/);
    assert.doesNotMatch(html, /<script/i, 'no script element, not even the one in the title');
    assert.doesNotMatch(html, /<img/i);
    assert.ok(html.includes('Sign-in &#60;script&#62;alert(1)&#60;/script&#62; from Tor'));
    assert.ok(html.includes('Session 65f1 &#60;img src=x onerror=alert(2)&#62; &#38; &#34;done&#34;'));
    assert.ok(html.includes('Identity verified with Incode.\nSession'), 'comment line breaks are kept (pre-wrapped)');
    assert.doesNotMatch(html, /src=["']?https?:|<link|@import/i, 'no external assets');

    // Newest first: the escalated incident, then the closed one.
    const escalatedAt = html.indexOf(`id="incident-${escalated.name}"`);
    const closedAt = html.indexOf(`id="incident-${closed.name}"`);
    assert.ok(escalatedAt > 0 && closedAt > escalatedAt);
    const escalatedCard = html.slice(escalatedAt, closedAt);
    const closedCard = html.slice(closedAt);

    assert.match(escalatedCard, /#2<\/span>/);
    assert.match(escalatedCard, /sev-high">High</);
    assert.match(escalatedCard, /st-active">Active</);
    assert.match(escalatedCard, /itdr-verification-failed/);
    assert.match(escalatedCard, /megan\.bowen@contoso\.com/);
    assert.match(escalatedCard, /Verification failed: escalated\./);

    assert.match(closedCard, /#1<\/span>/);
    assert.match(closedCard, /st-closed">Closed</);
    assert.match(closedCard, /BenignPositive \/ SuspiciousButExpected/);
    assert.match(closedCard, /User confirmed the sign-in with Incode biometrics\./);
    assert.match(closedCard, /itdr-verified/);
    assert.match(closedCard, /Adele Vance <span class="muted">\(adele\.vance@contoso\.com\)<\/span>/);
    assert.match(closedCard, /Comments \(1\)/);
    assert.match(closedCard, /by itdr-worker/);
  });
});

describe('renderSentinelPage', () => {
  it('escapes attacker text in every field it shows', () => {
    const evil = '"><script>alert(1)</script><b x=\'';
    const store = new SentinelStore({ subscriptionId: 'sub', resourceGroup: 'rg', workspaceName: 'law' });
    const seeded = store.seedIncident({
      incidentId: 'evil-incident',
      title: evil,
      severity: 'Medium',
      owner: { assignedTo: evil },
      labels: [{ labelName: evil }],
      accounts: [{ accountName: evil, upnSuffix: evil, displayName: evil }],
    });
    store.simulateAnalystEdit(seeded.name, {
      status: 'Closed',
      classification: 'FalsePositive',
      classificationReason: 'InaccurateData',
      classificationComment: evil,
    });
    store.putComment(store.defaultWorkspace, seeded.name, 'c', evil, undefined, evil);
    const html = renderSentinelPage(collectIncidents(store), new Date('2024-05-01T12:00:00Z'));
    assert.doesNotMatch(html, /<script|<b /i);
    assert.ok(html.split('&#60;script&#62;').length - 1 >= 7, 'title, label, account, owner, classification comment, comment, author');
    assert.match(html, /2024-05-01 12:00:00 UTC/);
  });

  it('says so when there are no incidents', () => {
    const html = renderSentinelPage([]);
    assert.match(html, /No incidents yet/);
    assert.match(html, /0 incidents, 0 closed/);
  });
});

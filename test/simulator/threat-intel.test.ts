import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagedIdentityCredential } from '@azure/identity';
import { DefenderApiError, DefenderIndicatorsClient } from '../../src/clients/defender-indicators-client';
import { FEED_PAGE_SIZE, feedQuery, parseFeedQuery, ThreatIntelClient } from '../../src/clients/threat-intel-client';
import { TiThrottledError, type TiApi } from '../../src/clients/ti-call-counter';
import type { DesiredIndicator } from '../../src/shared/ti-sync';
import type { RunningSimulator } from '../../tools/simulator';
import { startTestSimulator } from './helpers';

const FEED = 'baseVISION-SOC-TI-Feed';
const MICROSOFT = 'Microsoft Defender Threat Intelligence';

function desired(value: string, overrides: Partial<DesiredIndicator> = {}): DesiredIndicator {
  return {
    indicatorType: 'IpAddress',
    indicatorValue: value,
    action: 'Block',
    title: `t ${value}`,
    description: 'd',
    application: 'itdr-verify ti-sync test',
    confidence: 100,
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** The sync's clients (the Log Analytics SDK and the REST client for Defender) against the simulated APIs. */
describe('threat-intelligence APIs (simulated) through the real clients', () => {
  let sim: RunningSimulator;
  let logs: ThreatIntelClient;
  let defender: DefenderIndicatorsClient;
  const calls: Array<[TiApi, number | 'network']> = [];

  before(async () => {
    sim = await startTestSimulator({
      threatIntel: { defenderCap: 5, defenderLimits: { import: [{ calls: 3, windowMs: 60_000 }] } },
    });
    Object.assign(process.env, sim.identityEnv);
    const credential = new ManagedIdentityCredential();
    const onCall = (api: TiApi, status: number | 'network') => calls.push([api, status]);
    logs = new ThreatIntelClient(credential, { endpoint: sim.urls.logAnalytics, onCall });
    defender = new DefenderIndicatorsClient(credential, { endpoint: sim.urls.defender, audience: sim.urls.defender, onCall });
  });
  after(async () => {
    await sim?.close();
  });

  it('the query is fixed text: hostile parameters travel as base64 and read back exactly', () => {
    const hostile = { feedName: 'x" | union SecurityEvent //', microsoftSources: ["a'b", 'c\nd'], afterId: '"; drop', pageSize: 10 };
    const query = feedQuery(hostile);
    assert.ok(!query.includes('union SecurityEvent'));
    assert.ok(!query.includes('drop'));
    assert.deepEqual(parseFeedQuery(query), { ...hostile, microsoftSources: ["a'b", 'c', 'd'] });
    assert.equal(parseFeedQuery(`${query}\n| take 1`), undefined, 'any other KQL is not the sync query');
  });

  it('reads the latest row of each feed indicator, marks what Microsoft covers, pages past the page size', async () => {
    const workspace = sim.threatIntel.defaultWorkspaceId;
    const rows = Array.from({ length: FEED_PAGE_SIZE + 7 }, (_, index) => ({
      Id: `indicator--${String(index).padStart(6, '0')}`,
      ObservableKey: 'ipv4-addr:value',
      ObservableValue: `10.${Math.floor(index / 65536)}.${Math.floor(index / 256) % 256}.${index % 256}`,
      SourceSystem: FEED,
      LastUpdateTime: '2026-12-01T00:00:00Z',
    }));
    sim.threatIntel.addRows(workspace, rows);
    // a later version of the first: deleted
    sim.threatIntel.addRows(workspace, [{ ...rows[0], IsDeleted: true, LastUpdateTime: '2026-12-02T00:00:00Z' }]);
    sim.threatIntel.addRows(workspace, [
      { ObservableKey: 'ipv4-addr:value', ObservableValue: rows[1].ObservableValue, SourceSystem: MICROSOFT },
    ]);
    sim.threatIntel.addRows(workspace, [{ ObservableKey: 'ipv4-addr:value', ObservableValue: '192.0.2.1', SourceSystem: 'another feed' }]);
    calls.length = 0;
    const pages: number[] = [];
    const feed = await logs.readFeed(workspace, { feedName: FEED, microsoftSources: [MICROSOFT], lookbackMs: 86_400_000 }, (count) =>
      pages.push(count),
    );
    assert.equal(feed.length, FEED_PAGE_SIZE + 7);
    assert.deepEqual(pages, [FEED_PAGE_SIZE, FEED_PAGE_SIZE + 7]);
    assert.equal(feed[0].isDeleted, true);
    assert.equal(feed[1].coveredByMicrosoft, true);
    assert.equal(feed[2].coveredByMicrosoft, false);
    assert.ok(feed.every((row) => row.sourceSystem === FEED));
    assert.equal(feed[5].lastUpdated, '2026-12-01T00:00:00.000Z');
    assert.equal(calls.filter(([api]) => api === 'loganalytics').length, 2);
    const token = sim.identity.issued().find((issued) => issued.resource.includes(new URL(sim.urls.logAnalytics).port));
    assert.ok(token, 'managed identity token for the Log Analytics endpoint');
  });

  it('an unknown workspace is a clear error', async () => {
    await assert.rejects(
      logs.readFeed('00000000-0000-0000-0000-000000000000', { feedName: FEED, microsoftSources: [], lookbackMs: 3_600_000 }),
      /could not be found|404/,
    );
  });

  it('imports (upsert by type and value), lists by application, batch-deletes, within the tenant cap', async () => {
    sim.defender.seed({
      indicatorValue: 'other.example',
      indicatorType: 'DomainName',
      action: 'Warn',
      title: 'theirs',
      description: 'd',
      application: 'SOAR',
    });
    const first = await defender.importIndicators([
      desired('198.51.100.1'),
      desired('198.51.100.2'),
      desired('203.0.113.0/24'),
      desired('evil.example', { indicatorType: 'DomainName', action: 'BlockAndRemediate' }),
    ]);
    assert.deepEqual(
      first.map((item) => item.isFailed),
      [false, false, true, true],
    );
    assert.match(first[2].failureReason!, /CIDR/);
    assert.match(first[3].failureReason!, /BlockAndRemediate/);
    const again = await defender.importIndicators([desired('198.51.100.1', { action: 'Audit' })]);
    assert.equal(again[0].id, first[0].id, 'the same indicator, updated');
    const ours = await defender.listIndicators({ application: 'itdr-verify ti-sync test' });
    assert.deepEqual(
      ours.map((indicator) => [indicator.indicatorValue, indicator.action]),
      [
        ['198.51.100.1', 'Audit'],
        ['198.51.100.2', 'Block'],
      ],
    );
    assert.equal((await defender.listIndicators()).length, 3);
    await defender.batchDelete([first[1].id!, 'no-such-id']);
    assert.deepEqual((await defender.listIndicators({ application: "it's not" })).length, 0);
    assert.equal((await defender.listIndicators()).length, 2);
    // cap 5, 2 held: 3 more fit, the 4th new one is refused by the cap
    const capped = await defender.importIndicators(
      ['198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14'].map((value) => desired(value)),
    );
    assert.deepEqual(
      capped.map((item) => item.isFailed),
      [false, false, false, true],
    );
    assert.match(capped[3].failureReason!, /maximum of 5 active indicators/);
  });

  it('beyond the documented calls per minute: 429 with the seconds until a call frees up', async () => {
    // the three imports of this minute are spent
    const token = await new ManagedIdentityCredential().getToken(`${sim.urls.defender}/.default`);
    const response = await fetch(`${sim.urls.defender}/api/indicators/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ Indicators: [desired('198.51.100.20')] }),
    });
    assert.equal(response.status, 429);
    const retryAfter = Number(response.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, String(retryAfter));
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'TooManyRequests');
  });

  it("429s that outlast the pipeline's retries (each honouring Retry-After) become TiThrottledError, every attempt counted", async () => {
    calls.length = 0;
    sim.faults.add({ service: 'defender', pathIncludes: '/indicators/import', retryAfterSeconds: 0, times: 50 });
    await assert.rejects(
      defender.importIndicators([desired('198.51.100.9')]),
      (error: unknown) => error instanceof TiThrottledError && error.api === 'defender',
    );
    const throttled = calls.filter(([api, status]) => api === 'defender' && status === 429).length;
    assert.equal(throttled, 4, 'first attempt and 3 retries, each counted');
    sim.faults.clear();
  });

  it('a refused call names the status and code, never a token', async () => {
    sim.faults.add({ service: 'defender', pathIncludes: '/indicators/BatchDelete', status: 403, times: 1 });
    await assert.rejects(
      defender.batchDelete(['1']),
      (error: unknown) => error instanceof DefenderApiError && error.status === 403 && !/Bearer|simaz\./.test(error.message),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TiSyncSettings } from '../../src/shared/ti-sync';
import { planBatches, planReconciliation } from '../../src/ti-sync/plan';
import type { DefenderIndicator, FeedIndicator } from '../../src/ti-sync/records';
import { mapObservable, selectIndicators } from '../../src/ti-sync/selection';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const HASH = 'a'.repeat(64);

const settings: TiSyncSettings = {
  syncId: 'feed-a',
  workspaceId: '11111111-2222-3333-4444-555555555555',
  feedName: 'baseVISION-SOC-TI-Feed',
  actions: { IpAddress: 'Block', DomainName: 'Warn', Url: 'Audit', FileSha256: 'BlockAndRemediate' },
  minConfidence: 100,
  microsoftSources: ['Microsoft Defender Threat Intelligence'],
  tenantCap: 15_000,
  application: 'itdr-verify ti-sync feed-a',
  lookbackMs: 30 * 86_400_000,
};

let counter = 0;
function row(overrides: Partial<FeedIndicator> = {}): FeedIndicator {
  counter += 1;
  return {
    id: `indicator--${String(counter).padStart(4, '0')}`,
    observableKey: 'ipv4-addr:value',
    observableValue: `198.51.100.${counter % 250}`,
    confidence: 100,
    sourceSystem: settings.feedName,
    isActive: true,
    isDeleted: false,
    validFrom: '2026-12-01T00:00:00Z',
    validUntil: '2027-01-01T00:00:00Z',
    lastUpdated: '2026-12-02T00:00:00Z',
    coveredByMicrosoft: false,
    ...overrides,
  };
}

describe('ti-sync: observable mapping', () => {
  const cases: Array<[string, string, ReturnType<typeof mapObservable>]> = [
    ['ipv4-addr:value', '203.0.113.7', { type: 'IpAddress', value: '203.0.113.7' }],
    ['ipv6-addr:value', '2001:DB8::1', { type: 'IpAddress', value: '2001:db8::1' }],
    ['ipv4-addr:value', '203.0.113.0/24', { skip: 'invalid-value' }],
    ['ipv4-addr:value', '2001:db8::1', { skip: 'invalid-value' }],
    ['domain-name:value', 'Evil.Example.COM.', { type: 'DomainName', value: 'evil.example.com' }],
    ['domain-name:value', 'not a domain', { skip: 'invalid-value' }],
    ['url:value', 'https://evil.example.com/payload?x=1', { type: 'Url', value: 'https://evil.example.com/payload?x=1' }],
    ['url:value', 'ftp://evil.example.com/', { skip: 'invalid-value' }],
    ["file:hashes.'SHA-256'", HASH.toUpperCase(), { type: 'FileSha256', value: HASH }],
    ['file:hashes.SHA256', HASH, { type: 'FileSha256', value: HASH }],
    ["file:hashes.'SHA-256'", 'abc', { skip: 'invalid-value' }],
    ["file:hashes.'MD5'", 'd41d8cd98f00b204e9800998ecf8427e', { skip: 'weak-hash' }],
    ["file:hashes.'SHA-1'", 'da39a3ee5e6b4b0d3255bfef95601890afd80709', { skip: 'weak-hash' }],
    ["file:hashes.'SHA-512'", 'f'.repeat(128), { skip: 'unsupported-type' }],
    ['email-addr:value', 'phish@example.com', { skip: 'unsupported-type' }],
    ['windows-registry-key:key', 'HKLM\\Run', { skip: 'unsupported-type' }],
  ];
  for (const [key, value, expected] of cases) {
    it(`${key} ${value} → ${JSON.stringify(expected)}`, () => assert.deepEqual(mapObservable(key, value), expected));
  }
});

describe('ti-sync: selection rules', () => {
  const cases: Array<[string, Partial<FeedIndicator>, string | undefined]> = [
    ['confidence 100, active, valid, the feed → selected', {}, undefined],
    ['confidence 99 → low-confidence', { confidence: 99 }, 'low-confidence'],
    ['another feed → other-source', { sourceSystem: 'Some Other Feed' }, 'other-source'],
    ['inactive → inactive', { isActive: false }, 'inactive'],
    ['deleted → inactive', { isDeleted: true }, 'inactive'],
    ['valid until now → expired', { validUntil: new Date(NOW).toISOString() }, 'expired'],
    ['valid from tomorrow → not-yet-valid', { validFrom: '2026-12-04T12:00:00Z' }, 'not-yet-valid'],
    ['held by a Microsoft source → covered-by-microsoft', { coveredByMicrosoft: true }, 'covered-by-microsoft'],
    ['MD5 → weak-hash', { observableKey: "file:hashes.'MD5'", observableValue: 'd41d8cd98f00b204e9800998ecf8427e' }, 'weak-hash'],
    ['e-mail → unsupported-type', { observableKey: 'email-addr:value', observableValue: 'a@example.com' }, 'unsupported-type'],
  ];
  for (const [title, overrides, reason] of cases) {
    it(title, () => {
      const { selected, skipped } = selectIndicators([row(overrides)], settings, NOW);
      if (reason === undefined) {
        assert.equal(selected.length, 1);
        assert.deepEqual(skipped, {});
      } else {
        assert.equal(selected.length, 0);
        assert.deepEqual(skipped, { [reason]: 1 });
      }
    });
  }

  it('the threshold is configurable: 80 takes confidence 85', () => {
    const { selected } = selectIndicators([row({ confidence: 85 })], { ...settings, minConfidence: 80 }, NOW);
    assert.equal(selected.length, 1);
  });

  it('maps the action per type, the title and the expiry from the feed', () => {
    const { selected } = selectIndicators(
      [row({ observableKey: "file:hashes.'SHA-256'", observableValue: HASH, name: 'Emotet loader', validUntil: '2027-02-01T00:00:00Z' })],
      settings,
      NOW,
    );
    assert.deepEqual(
      { type: selected[0].indicatorType, action: selected[0].action, title: selected[0].title, expiry: selected[0].expirationTime },
      {
        type: 'FileSha256',
        action: 'BlockAndRemediate',
        title: 'baseVISION-SOC-TI-Feed: Emotet loader',
        expiry: '2027-02-01T00:00:00.000Z',
      },
    );
    assert.equal(selected[0].application, settings.application);
    assert.ok(selected[0].description.length > 0, 'Defender requires a description');
  });

  it('one indicator per type and value: the newest of duplicates wins, the rest are counted', () => {
    const older = row({ observableValue: '192.0.2.50', lastUpdated: '2026-12-01T00:00:00Z', name: 'old' });
    const newer = row({ observableValue: '192.0.2.50', lastUpdated: '2026-12-02T10:00:00Z', name: 'new' });
    const { selected, skipped } = selectIndicators([older, newer], settings, NOW);
    assert.equal(selected.length, 1);
    assert.equal(selected[0].title, 'baseVISION-SOC-TI-Feed: new');
    assert.deepEqual(skipped, { duplicate: 1 });
  });
});

function held(overrides: Partial<DefenderIndicator> & { indicatorValue: string }): DefenderIndicator {
  counter += 1;
  return { id: String(1000 + counter), indicatorType: 'IpAddress', action: 'Block', application: settings.application, ...overrides };
}

describe('ti-sync: reconciliation plan', () => {
  it('creates what is missing, updates what differs, deletes what expired or left the feed, leaves the rest', () => {
    const keep = row({ observableValue: '192.0.2.1' });
    const changed = row({ observableValue: '192.0.2.2' });
    const fresh = row({ observableValue: '192.0.2.3' });
    const { selected } = selectIndicators([keep, changed], settings, NOW);
    const same = selected.find((indicator) => indicator.indicatorValue === '192.0.2.1')!;
    const defender: DefenderIndicator[] = [
      held({
        id: 'keep',
        indicatorValue: '192.0.2.1',
        title: same.title,
        description: same.description,
        expirationTime: same.expirationTime,
      }),
      held({
        id: 'changed',
        indicatorValue: '192.0.2.2',
        action: 'Audit',
        title: 'x',
        description: 'y',
        expirationTime: '2026-12-10T00:00:00Z',
      }),
      held({ id: 'expired', indicatorValue: '192.0.2.9', expirationTime: '2026-12-01T00:00:00Z' }),
      held({ id: 'gone', indicatorValue: '192.0.2.10' }),
      held({ id: 'theirs', indicatorValue: '192.0.2.11', application: 'another tool' }),
    ];
    const plan = planReconciliation([keep, changed, fresh], defender, settings, NOW);
    assert.deepEqual(
      plan.creates.map((indicator) => indicator.indicatorValue),
      ['192.0.2.3'],
    );
    assert.deepEqual(
      plan.updates.map((indicator) => indicator.indicatorValue),
      ['192.0.2.2'],
    );
    assert.deepEqual(plan.deletes, [
      { id: 'expired', expired: true },
      { id: 'gone', expired: false },
    ]);
    assert.equal(plan.summary.unchanged, 1);
    assert.equal(plan.summary.othersActive, 1);
  });

  it('an update is due for a change of action, title, description or expiry, and only then', () => {
    const indicator = row({ observableValue: '192.0.2.20' });
    const [desired] = selectIndicators([indicator], settings, NOW).selected;
    const same = {
      indicatorValue: desired.indicatorValue,
      action: desired.action,
      title: desired.title,
      description: desired.description,
      expirationTime: desired.expirationTime,
    };
    const variants: Array<[string, Partial<DefenderIndicator>, number]> = [
      ['identical', {}, 0],
      ['same expiry written differently', { expirationTime: '2027-01-01T00:00:00Z' }, 0],
      ['action', { action: 'Warn' }, 1],
      ['title', { title: 'renamed' }, 1],
      ['description', { description: 'other' }, 1],
      ['expiry', { expirationTime: '2027-03-01T00:00:00.000Z' }, 1],
    ];
    for (const [name, change, updates] of variants) {
      const plan = planReconciliation([indicator], [held({ ...same, ...change })], settings, NOW);
      assert.equal(plan.updates.length, updates, name);
      assert.equal(plan.creates.length + plan.deletes.length, 0, name);
    }
  });

  it('never takes over an indicator another tool created for the same value', () => {
    const indicator = row({ observableValue: '192.0.2.30' });
    const plan = planReconciliation([indicator], [held({ indicatorValue: '192.0.2.30', application: 'SOAR' })], settings, NOW);
    assert.equal(plan.creates.length + plan.updates.length + plan.deletes.length, 0);
    assert.deepEqual(plan.summary.skipped, { 'held-by-others': 1 });
  });

  it('a duplicate of ours in Defender is deleted, one is kept', () => {
    const indicator = row({ observableValue: '192.0.2.40' });
    const [desired] = selectIndicators([indicator], settings, NOW).selected;
    const copy = {
      indicatorValue: '192.0.2.40',
      title: desired.title,
      description: desired.description,
      expirationTime: desired.expirationTime,
    };
    const plan = planReconciliation([indicator], [held({ ...copy, id: 'a' }), held({ ...copy, id: 'b' })], settings, NOW);
    assert.deepEqual(plan.deletes, [{ id: 'b', expired: false }]);
    assert.equal(plan.summary.unchanged, 1);
  });

  it("the tenant cap counts others' active indicators; the most confident and newest go in, the rest are reported", () => {
    const rows = [
      row({ observableValue: '192.0.2.61', confidence: 90, lastUpdated: '2026-12-02T00:00:00Z' }),
      row({ observableValue: '192.0.2.62', confidence: 100, lastUpdated: '2026-11-20T00:00:00Z' }),
      row({ observableValue: '192.0.2.63', confidence: 100, lastUpdated: '2026-12-02T00:00:00Z' }),
      row({ observableValue: '192.0.2.64', confidence: 95, lastUpdated: '2026-12-02T00:00:00Z' }),
    ];
    const others = [
      held({ indicatorValue: '10.0.0.1', application: 'SOAR' }),
      held({ indicatorValue: '10.0.0.2', application: 'SOAR' }),
      // expired: does not count against the cap
      held({ indicatorValue: '10.0.0.3', application: 'SOAR', expirationTime: '2026-11-01T00:00:00Z' }),
    ];
    const plan = planReconciliation(rows, others, { ...settings, minConfidence: 90, tenantCap: 4 }, NOW);
    assert.deepEqual(
      plan.creates.map((indicator) => indicator.indicatorValue),
      ['192.0.2.63', '192.0.2.62'],
    );
    assert.equal(plan.summary.othersActive, 2);
    assert.deepEqual(plan.summary.overCap, { count: 2, examples: ['IpAddress:192.0.2.64', 'IpAddress:192.0.2.61'] });
    assert.equal(plan.summary.skipped['over-cap'], 2);
  });

  it("batches keep to Defender's 500 per call, deletes first, and a round takes at most maxBatches", () => {
    const rows = Array.from({ length: 1_203 }, (_, index) => row({ observableValue: `10.1.${Math.floor(index / 250)}.${index % 250}` }));
    const gone = Array.from({ length: 501 }, (_, index) => held({ indicatorValue: `10.9.${Math.floor(index / 250)}.${index % 250}` }));
    const plan = planReconciliation(rows, gone, settings, NOW);
    const all = planBatches(plan, 100);
    assert.deepEqual(
      all.batches.map((batch) => `${batch.kind}:${batch.kind === 'import' ? batch.indicators.length : batch.ids.length}`),
      ['delete:500', 'delete:1', 'import:500', 'import:500', 'import:203'],
    );
    assert.equal(all.more, false);
    const first = planBatches(plan, 2);
    assert.equal(first.batches.length, 2);
    assert.equal(first.more, true);
  });

  it('the same input plans the same, and an applied plan plans nothing more', () => {
    const rows = [row({ observableValue: '192.0.2.70' }), row({ observableKey: 'domain-name:value', observableValue: 'evil.example.net' })];
    const first = planReconciliation(rows, [], settings, NOW);
    assert.deepEqual(planReconciliation(rows, [], settings, NOW), first);
    const applied: DefenderIndicator[] = first.creates.map((indicator, index) => ({ id: `n${index}`, ...indicator }));
    const second = planReconciliation(rows, applied, settings, NOW);
    assert.equal(second.creates.length + second.updates.length + second.deletes.length, 0);
    assert.equal(second.summary.unchanged, 2);
  });
});

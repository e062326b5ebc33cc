import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCounts, runChaos } from '../chaos/scenario';

/**
 * The chaos scenario of `npm run chaos` with small numbers: ~20 incidents while the worker process is SIGKILLed
 * and restarted, its own Temporal dev server (SQLite) and the gateway restart once, and the simulator injects
 * throttling, 5xx, slow answers, etag conflicts and duplicated / out-of-order / early webhooks.
 */
describe('chaos (short)', () => {
  it('every incident ends in its planned state, changed once, with no duplicate comment and nothing lost', { timeout: 150_000 }, async () => {
    const report = await runChaos({
      incidents: 21,
      concurrency: 21,
      startIntervalMs: 600,
      workerKills: 2,
      verificationTimeoutSeconds: 15,
      resultPollInterval: '2s',
      deadlineMs: 120_000,
      log: () => undefined,
    });
    const table = formatCounts(report.counts);
    console.log(`chaos (short)\n${table}`);
    assert.deepEqual(report.failures, [], table);
  });
});

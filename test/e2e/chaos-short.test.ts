import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCounts, runChaos } from '../chaos/scenario';

/**
 * The chaos scenario of `npm run chaos` with small numbers: ~20 incidents while the worker process is SIGKILLed
 * and restarted, its own Temporal dev server (SQLite) and the gateway restart once, and the simulator injects
 * throttling, 5xx, slow answers, etag conflicts and duplicated / out-of-order / early webhooks.
 */
describe('chaos (short)', () => {
  it(
    'every incident ends in its planned state, changed once, with no duplicate comment and nothing lost',
    { timeout: 330_000 },
    async () => {
      const report = await runChaos({
        incidents: 21,
        concurrency: 21,
        startIntervalMs: 600,
        workerKills: 2,
        verificationTimeoutSeconds: 20,
        resultPollInterval: '2s',
        // After a SIGKILL, activities that were running wait out their start-to-close timeout (up to 1 min) before
        // another worker retries them; on a loaded 2-core CI machine the short run needs that slack.
        deadlineMs: 270_000,
        log: () => undefined,
      });
      const table = formatCounts(report.counts);
      console.log(`chaos (short)\n${table}`);
      // The failures first: a CI log shows the start of the message.
      assert.deepEqual(report.failures, [], `${report.failures.join('\n')}\n${table}`);
    },
  );
});

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../../src/shared/messages';
import { installQuietRuntime, workflowBundle } from '../helpers/temporal';

/**
 * Histories recorded from earlier versions of the workflows (test/replay/histories, made by
 * record-histories.ts, record-incident-histories.ts and record-ti-sync-histories.ts) must replay against the current code: a change that
 * would break running
 * verifications fails here instead of in production. Add a new set for each released version.
 */
const historiesDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories');
const files = readdirSync(historiesDir)
  .filter((file) => file.endsWith('.json'))
  .sort();

describe('workflow replay compatibility', () => {
  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 5, `expected recorded histories in ${historiesDir}`);
  });

  for (const file of files) {
    it(`replays ${file} without nondeterminism`, async () => {
      installQuietRuntime();
      const history = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file.replace(/\.json$/, ''));
    });
  }
});

describe('incidentVerification replay histories', () => {
  const incidentFiles = files.filter((file) => file.startsWith('incident-'));
  const workflowTypeOf = (file: string): string | undefined =>
    JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType
      ?.name;

  it("are the incident's own workflow (its children are identityVerification's histories), one per outcome", () => {
    assert.ok(incidentFiles.length >= 6, `expected incident-*.json histories in ${historiesDir}`);
    for (const file of incidentFiles) assert.equal(workflowTypeOf(file), WORKFLOW_TYPES.incident, file);
    for (const outcome of ['all-verified', 'one-failed', 'denied', 'cancelled', 'timed-out', 'user-not-found']) {
      assert.ok(
        incidentFiles.some((file) => file.includes(outcome)),
        `a history for ${outcome}`,
      );
    }
  });
});

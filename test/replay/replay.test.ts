import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { installQuietRuntime, workflowBundle } from '../helpers/temporal';

/**
 * Histories recorded from earlier versions of the workflow (test/replay/histories, made by
 * record-histories.ts) must replay against the current code: a change that would break running
 * verifications fails here instead of in production. Add a new set for each released version.
 */
const historiesDir = path.join(__dirname, '..', '..', '..', 'test', 'replay', 'histories');
const files = readdirSync(historiesDir).filter((file) => file.endsWith('.json')).sort();

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

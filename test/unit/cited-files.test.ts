import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../tools/dev/temporal-server';

const root = packageRoot();
/** Written by a run (`npm run bench`), not kept in the repository (.gitignore). */
const RUN_OUTPUT = ['bench/results/'];
const CITED = /(?:^|[\s(`'"])((?:bench|deploy|docs|scripts|shared|src|test|tools)\/[\w./-]+\.(?:json|md|mjs|sh|ts|ya?ml))/g;

function files(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return files(relative);
    return /\.(ts|mjs|md)$/.test(entry.name) ? [relative] : [];
  });
}

describe('cited files', () => {
  it('every repository file a comment or README cites exists', () => {
    const missing: string[] = [];
    for (const file of ['README.md', ...files('src'), ...files('tools'), ...files('bench'), ...files('scripts')]) {
      for (const [, cited] of fs.readFileSync(path.join(root, file), 'utf8').matchAll(CITED)) {
        const target = cited.replace(/[.]+$/, '');
        if (RUN_OUTPUT.some((prefix) => target.startsWith(prefix))) continue;
        if (!fs.existsSync(path.join(root, target))) missing.push(`${file} cites ${target}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

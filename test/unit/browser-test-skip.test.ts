import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { missingChromium } from '../helpers/chromium';

/** The browser tests' rule: a missing Chromium skips them with the reason printed, except in CI, where it fails. */
describe('browser tests without Chromium', () => {
  const absent = '/nonexistent/chromium';

  it('are skipped outside CI, with the reason printed', () => {
    const printed: string[] = [];
    const reason = missingChromium(absent, {}, (line) => printed.push(line));
    assert.match(reason ?? '', /Chromium not found at \/nonexistent\/chromium: install .*apt-get install chromium.*CHROMIUM_PATH/);
    assert.deepEqual(printed, [`skipping browser test: ${reason}\n`]);
  });

  it('fail with CI=true', () => {
    assert.throws(
      () => missingChromium(absent, { CI: 'true' }, () => assert.fail('nothing is printed as a skip')),
      /Chromium not found .*CI=true: browser tests must run/,
    );
  });

  it('run when the browser is there', () => {
    assert.equal(missingChromium(process.execPath, { CI: 'true' }), undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIncodeErrorBody, retryAfterMs } from '../../src/clients/incode-errors';

describe('parseIncodeErrorBody', () => {
  it('finds 5504 in a Spring-style body', () => {
    assert.deepEqual(
      parseIncodeErrorBody('{"timestamp":1,"status":5504,"error":"Bad Request","message":"Employee by login factor cannot be found"}'),
      { code: 5504, message: 'Employee by login factor cannot be found' },
    );
  });
  it('finds a code field and a nested error code', () => {
    assert.equal(parseIncodeErrorBody('{"code":5504}').code, 5504);
    assert.equal(parseIncodeErrorBody('{"error":{"code":"5504"}}').code, 5504);
  });
  it('ignores HTTP statuses as Incode codes and survives non-JSON', () => {
    assert.equal(parseIncodeErrorBody('{"status":400,"message":"x"}').code, undefined);
    assert.deepEqual(parseIncodeErrorBody('gateway timeout'), { code: undefined, message: 'gateway timeout' });
    assert.deepEqual(parseIncodeErrorBody(''), { code: undefined, message: undefined });
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type DecisionEvidence } from '../../src/workflows/decision';

/**
 * Every combination of the evidence, against the rule stated independently of the product code:
 * close only for the incident's own user (named by Sentinel) who said "This was me" and then passed the
 * check (or, in the weaker incode-only mode, passed it; or a reviewer approved); a denial, a failure, a
 * result bound to someone else or a reviewer's rejection escalates at once; anything else waits, and
 * escalates at the deadline; an analyst who stopped it wins over everything.
 */
const NAMED = [true, false];
const ANSWERS = ['none', 'was-me', 'wasnt-me'] as const;
const INCODE = ['none', 'success', 'success-before-answer', 'failure', 'other-user'] as const;
const ANALYST = ['none', 'stopped', 'approved', 'rejected'] as const;
const DEADLINE = [false, true];
const MODES = ['confirm-then-verify', 'incode-only'] as const;

const all: DecisionEvidence[] = NAMED.flatMap((subjectNamedBySentinel) =>
  ANSWERS.flatMap((answer) =>
    INCODE.flatMap((incode) =>
      ANALYST.flatMap((analyst) =>
        DEADLINE.flatMap((deadlinePassed) =>
          MODES.map((mode) => ({ subjectNamedBySentinel, answer, incode, analyst, deadlinePassed, mode })),
        ),
      ),
    ),
  ),
);

function expectedAction(e: DecisionEvidence): 'stop' | 'close' | 'escalate' | 'wait' {
  if (e.analyst === 'stopped') return 'stop';
  const refuted = e.answer === 'wasnt-me' || e.analyst === 'rejected' || e.incode === 'failure' || e.incode === 'other-user';
  if (refuted) return 'escalate';
  const passed = e.incode === 'success' || e.incode === 'success-before-answer';
  const vouched =
    e.analyst === 'approved' ||
    (e.mode === 'incode-only' && passed) ||
    (e.mode === 'confirm-then-verify' && e.incode === 'success' && e.answer === 'was-me');
  if (vouched) return e.subjectNamedBySentinel ? 'close' : 'escalate';
  if (passed && !e.subjectNamedBySentinel) return 'escalate';
  // A check that came before the user's "This was me" can never become a close.
  if (e.incode === 'success-before-answer' && e.answer === 'was-me') return 'escalate';
  return e.deadlinePassed ? 'escalate' : 'wait';
}

describe('decide: the decision as a function of the evidence', () => {
  it(`covers all ${all.length} combinations`, () => {
    assert.equal(all.length, 2 * 3 * 5 * 4 * 2 * 2);
    for (const evidence of all) assert.equal(decide(evidence).action, expectedAction(evidence), JSON.stringify(evidence));
  });

  it('closes without a reviewer only for a Sentinel-named user who said "This was me" and then passed (or in incode-only mode)', () => {
    const closing = all.filter((e) => e.analyst === 'none' && decide(e).action === 'close');
    assert.ok(closing.length > 0);
    for (const e of closing) {
      assert.equal(e.subjectNamedBySentinel, true);
      assert.notEqual(e.answer, 'wasnt-me');
      if (e.mode === 'confirm-then-verify') assert.deepEqual([e.answer, e.incode], ['was-me', 'success']);
      else assert.ok(e.incode === 'success' || e.incode === 'success-before-answer');
    }
    // In the default mode exactly one combination of answer and result closes (at any deadline).
    const confirmed = new Set(closing.filter((e) => e.mode === 'confirm-then-verify').map((e) => `${e.answer}/${e.incode}`));
    assert.deepEqual([...confirmed], ['was-me/success']);
  });

  it('a denial always escalates, whatever Incode or a reviewer says, unless an analyst stopped the verification', () => {
    for (const e of all.filter((candidate) => candidate.answer === 'wasnt-me' && candidate.analyst !== 'stopped')) {
      assert.deepEqual(decide(e), { action: 'escalate', why: 'denied' }, JSON.stringify(e));
    }
  });

  it('names why', () => {
    const base: DecisionEvidence = {
      subjectNamedBySentinel: true,
      answer: 'none',
      incode: 'none',
      analyst: 'none',
      deadlinePassed: false,
      mode: 'confirm-then-verify',
    };
    assert.deepEqual(decide({ ...base, answer: 'was-me', incode: 'success' }), { action: 'close', why: 'confirmed-and-verified' });
    assert.deepEqual(decide({ ...base, mode: 'incode-only', incode: 'success' }), { action: 'close', why: 'verified' });
    assert.deepEqual(decide({ ...base, incode: 'success' }), { action: 'wait' });
    assert.deepEqual(decide({ ...base, incode: 'success', deadlinePassed: true }), {
      action: 'escalate',
      why: 'verified-without-confirmation',
    });
    assert.deepEqual(decide({ ...base, incode: 'success-before-answer', answer: 'was-me' }), {
      action: 'escalate',
      why: 'verified-without-confirmation',
    });
    assert.deepEqual(decide({ ...base, subjectNamedBySentinel: false, answer: 'was-me', incode: 'success' }), {
      action: 'escalate',
      why: 'not-named-by-sentinel',
    });
    assert.deepEqual(decide({ ...base, deadlinePassed: true }), { action: 'escalate', why: 'timed-out' });
    assert.deepEqual(decide({ ...base, incode: 'failure', answer: 'was-me' }), { action: 'escalate', why: 'failed' });
    assert.deepEqual(decide({ ...base, incode: 'other-user', answer: 'was-me' }), { action: 'escalate', why: 'other-user' });
    assert.deepEqual(decide({ ...base, analyst: 'approved' }), { action: 'close', why: 'reviewer-approved' });
    assert.deepEqual(decide({ ...base, analyst: 'rejected', incode: 'success', answer: 'was-me' }), {
      action: 'escalate',
      why: 'reviewer-rejected',
    });
    assert.deepEqual(decide({ ...base, analyst: 'stopped', answer: 'wasnt-me' }), { action: 'stop' });
  });
});

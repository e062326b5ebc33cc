import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { allHandlersFinished, condition, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { VerificationStatusAttribute } from '../shared/search-attributes';
import type { IncidentDecision, VerificationOutcome, VerificationState, VerificationStatus } from '../shared/types';

/**
 * How a verification workflow reports where it is (its status, search attributes and the Web UI's details)
 * and how it ends (the outcome, once its handlers are done). Shared by `identityVerification` and
 * `incidentVerification`.
 *
 * With `foldsSearchAttributes` (every verification started since `patched('two-writes-per-verdict')`) a
 * search attribute set just before a status change goes out with it in one upsert (one history event),
 * and a value the attribute already holds (the gateway starts verifications as `CreatingSession`) is not
 * written again. Without it each change is its own upsert, as the recorded histories have them.
 */
export function verificationStatus(state: VerificationState, options: { foldsSearchAttributes: boolean }) {
  const pending: SearchAttributeUpdatePair[] = [];
  let shownStatus = options.foldsSearchAttributes ? workflowInfo().typedSearchAttributes.get(VerificationStatusAttribute) : undefined;

  /** Writes the attributes set since the last upsert, if any. */
  const flush = (): void => {
    if (pending.length > 0) upsertSearchAttributes(pending.splice(0));
  };
  /** Sets a search attribute: at once, or with the next status change when attributes are folded. */
  const setAttribute = (pair: SearchAttributeUpdatePair): void => {
    pending.push(pair);
    if (!options.foldsSearchAttributes) flush();
  };
  const setStatus = (status: VerificationStatus, details: string): void => {
    state.status = status;
    if (!options.foldsSearchAttributes || shownStatus !== status) pending.push({ key: VerificationStatusAttribute, value: status });
    shownStatus = status;
    flush();
    setCurrentDetails(details);
  };
  /**
   * Records the final status, applies the decision to the incidents (`apply` returns what was done to each)
   * and returns the outcome once every handler (a join accepted just before the decision) has finished.
   */
  const finish = async (
    status: VerificationStatus,
    reason: string,
    apply: () => Promise<IncidentDecision[]>,
    extra: Partial<VerificationOutcome> = {},
  ): Promise<VerificationOutcome> => {
    setStatus(status, reason);
    const decisions = await apply();
    const outcome: VerificationOutcome = {
      status,
      reason,
      incidentAction: decisions[0]?.action ?? 'None',
      decidedAt: new Date().toISOString(),
      ...extra,
      ...(decisions.length > 1 ? { incidents: decisions } : {}),
    };
    state.outcome = outcome;
    await condition(allHandlersFinished);
    return outcome;
  };
  return { setAttribute, flush, setStatus, finish };
}

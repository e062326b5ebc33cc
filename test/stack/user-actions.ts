import type { RunningSimulator } from '../../tools/simulator';
import { answerConfirmationPage } from '../helpers/stack';

/**
 * Everything the stack test makes the employee do, in one place: the confirmation page first ("This was
 * me", which every closing verification needs), then Incode's check.
 */

/**
 * The employee opens the confirmation page and answers "This was me". The page reads the verification's
 * state from its workflow, so a worker must be running.
 */
export async function confirmActivity(verification: { verificationUrl: string; interviewId: string }): Promise<void> {
  const answered = await answerConfirmationPage(verification.verificationUrl, 'was-me');
  if (answered.status !== 303)
    throw new Error(`the confirmation page answered ${answered.status} to "This was me" for ${verification.interviewId}`);
}

/** The employee finishes Incode's biometric check with `outcome`; Incode sends its session webhook. */
async function completeIdentityCheck(
  simulator: RunningSimulator,
  verification: { interviewId: string },
  outcome: 'succeeded' | 'failed',
): Promise<void> {
  const completion = await simulator.incode.completeSession(verification.interviewId, outcome);
  if (!completion.webhook.delivered)
    throw new Error(`Incode's webhook for ${verification.interviewId} was not delivered (${completion.webhook.lastStatus})`);
}

/** The employee fails Incode's biometric check. */
export function failIdentityCheck(simulator: RunningSimulator, verification: { interviewId: string }): Promise<void> {
  return completeIdentityCheck(simulator, verification, 'failed');
}

/** The employee passes Incode's biometric check (closes only after `confirmActivity`). */
export function passIdentityCheck(simulator: RunningSimulator, verification: { interviewId: string }): Promise<void> {
  return completeIdentityCheck(simulator, verification, 'succeeded');
}

/** The employee never opens the link: nothing to do, the verification times out. */
export function ignoreVerification(): void {}

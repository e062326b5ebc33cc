import type { RunningSimulator } from '../../src/simulator';

/**
 * Everything the stack test makes the employee do, in one place: when the product asks more of the user
 * before Incode's check (a confirmation page, say), the steps go here and the test reads the same.
 */

/** The employee opens the link and fails Incode's biometric check; Incode sends its session webhook. */
export async function failIdentityCheck(simulator: RunningSimulator, verification: { interviewId: string }): Promise<void> {
  const completion = await simulator.incode.completeSession(verification.interviewId, 'failed');
  if (!completion.webhook.delivered) throw new Error(`Incode's webhook for ${verification.interviewId} was not delivered (${completion.webhook.lastStatus})`);
}

/** The employee never opens the link: nothing to do, the verification times out. */
export function ignoreVerification(): void {}

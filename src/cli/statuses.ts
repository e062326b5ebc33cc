import type { VerificationStatus } from '../shared/types';

/** The states in which a verification waits for a person (the user, or a reviewer): where it can get stuck. */
export const WAITING_STATUSES: readonly VerificationStatus[] = ['AwaitingUser', 'AwaitingReview', 'PendingReview'];

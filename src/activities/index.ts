import { ApplicationFailure } from '@temporalio/common';
import type { IncodeClient } from '../clients/incode-client';
import type { GraphClient } from '../clients/graph-client';
import type { SentinelClient } from '../clients/sentinel-client';
import { createGraphActivities } from './graph-activities';
import type { ConfirmationLinks } from '../confirmation/confirmation-link';
import { createIncodeActivities } from './incode-activities';
import { createSentinelActivities } from './sentinel-activities';

export interface ActivityClients {
  incode: IncodeClient;
  sentinel: SentinelClient;
  /** Microsoft Graph, for profiles, remediation and link emails; absent when no Graph endpoint is configured. */
  graph?: GraphClient;
  /** Signs the confirmation page's links the link e-mails carry. */
  confirmationLinks?: ConfirmationLinks;
}

export function createActivities(clients: ActivityClients) {
  return {
    ...createIncodeActivities(clients.incode),
    ...createSentinelActivities(clients.sentinel),
    ...(clients.graph ? createGraphActivities(clients.graph, clients.confirmationLinks) : missingGraph()),
  };
}

/** Policies that need Graph fail with a clear, non-retryable error when the worker has no Graph endpoint. */
function missingGraph(): ReturnType<typeof createGraphActivities> {
  const fail = async (): Promise<never> => {
    throw ApplicationFailure.nonRetryable(
      'Microsoft Graph is not configured on this worker (GRAPH_ENDPOINT / AZURE_CLOUD)',
      'GraphNotConfigured',
    );
  };
  return { lookUpUserProfile: fail, remediateAccount: fail, sendVerificationEmail: fail };
}

export type VerificationActivities = ReturnType<typeof createActivities>;

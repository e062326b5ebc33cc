import type { IncodeClient } from '../clients/incode-client';
import type { SentinelClient } from '../clients/sentinel-client';
import { createIncodeActivities } from './incode-activities';
import { createSentinelActivities } from './sentinel-activities';

export interface ActivityClients {
  incode: IncodeClient;
  sentinel: SentinelClient;
}

export function createActivities(clients: ActivityClients) {
  return {
    ...createIncodeActivities(clients.incode),
    ...createSentinelActivities(clients.sentinel),
  };
}

export type VerificationActivities = ReturnType<typeof createActivities>;

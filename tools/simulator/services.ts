/**
 * The simulated endpoints, each its own HTTPS server; also the `service` of a fault. Its own module, below
 * everything else: the HTTP plumbing and the faults need the list, and the options (which import the stores)
 * must not be under them.
 */
export type SimulatedService =
  'incodeAuth' | 'incodeApi' | 'arm' | 'keyVault' | 'identity' | 'entra' | 'graph' | 'logAnalytics' | 'defender';

export const SIMULATED_SERVICES: readonly SimulatedService[] = [
  'incodeAuth',
  'incodeApi',
  'arm',
  'keyVault',
  'identity',
  'entra',
  'graph',
  'logAnalytics',
  'defender',
];

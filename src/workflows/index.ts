export { identityVerification } from './identity-verification';
export { incidentVerification } from './incident-verification';

export { identityVerification } from './identity-verification';
export { incidentVerification } from './incident-verification';
export { secretExpiryCheck } from './secret-expiry';
export { tiSync } from './ti-sync';

export { identityVerification } from './identity-verification';

import {
  X509Certificate,
  constants,
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import type { TokenAuthMethod } from './identity';

/** An app registration (service principal) of the simulated tenant, with the credentials it accepts. */
export interface EntraApplication {
  clientId: string;
  displayName: string;
  /** client-secret mode. */
  clientSecret?: string;
  /** client-certificate mode: the public certificate (PEM); assertions must be signed with its private key. */
  certificatePem?: string;
  /** workload-identity mode: the federated token (as in AZURE_FEDERATED_TOKEN_FILE) accepted as client_assertion. */
  federatedToken?: string;
}

/** What `registerApplication` takes: every field optional; with no credential at all, a client secret is generated. */
export type EntraApplicationInput = Partial<EntraApplication>;

/** A self-signed certificate and its private key, for client-certificate tests. */
export interface AppCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

export type ClientAuthentication =
  | { ok: true; app: EntraApplication; method: Exclude<TokenAuthMethod, 'managedIdentity'> }
  | { ok: false; status: number; error: string; description: string };

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Clock skew Entra tolerates on assertion times. */
const SKEW_SECONDS = 300;

interface Registered {
  app: EntraApplication;
  certificate?: { publicKey: KeyObject; sha1: Buffer; sha256: Buffer };
}

/**
 * The simulated tenant's app registrations and how a token request proves it is one of them: client secret,
 * certificate (a client assertion JWT signed with the registered certificate's key, RS256 + x5t or
 * PS256 + x5t#S256 as MSAL makes them), or federated token (the registered token itself as client_assertion).
 */
export class EntraDirectory {
  private readonly apps = new Map<string, Registered>();
  /** Requests to the token endpoint, whatever their outcome. */
  tokenRequestCount = 0;

  constructor(
    readonly tenantId: string,
    readonly tokenLifetimeSeconds: number,
  ) {}

  /** Registers (or replaces, by client id) an application. */
  registerApplication(input: EntraApplicationInput = {}): EntraApplication {
    const clientId = input.clientId ?? randomUUID();
    const hasCredential = Boolean(input.clientSecret || input.certificatePem || input.federatedToken);
    const app: EntraApplication = Object.freeze({
      clientId,
      displayName: input.displayName ?? `itdr-verify simulator app ${clientId.slice(0, 8)}`,
      clientSecret: input.clientSecret ?? (hasCredential ? undefined : generateClientSecret()),
      certificatePem: input.certificatePem,
      federatedToken: input.federatedToken?.trim(),
    });
    let certificate: Registered['certificate'];
    if (app.certificatePem) {
      let x509: X509Certificate;
      try {
        x509 = new X509Certificate(app.certificatePem);
      } catch {
        throw new Error(`entra application ${clientId}: certificatePem is not a PEM certificate`);
      }
      certificate = {
        publicKey: x509.publicKey,
        sha1: createHash('sha1').update(x509.raw).digest(),
        sha256: createHash('sha256').update(x509.raw).digest(),
      };
    }
    this.apps.set(clientId.toLowerCase(), { app, certificate });
    return app;
  }

  application(clientId: string): EntraApplication | undefined {
    return this.apps.get(clientId.toLowerCase())?.app;
  }

  applications(): EntraApplication[] {
    return [...this.apps.values()].map((entry) => entry.app);
  }

  removeApplication(clientId: string): boolean {
    return this.apps.delete(clientId.toLowerCase());
  }

  /**
   * Checks the client credentials of a token request (form fields). `tokenEndpoints` are the audiences a
   * client assertion may name. Error texts follow Entra's AADSTS messages.
   */
  authenticate(form: Record<string, unknown>, tokenEndpoints: string[], nowSeconds = Math.floor(Date.now() / 1000)): ClientAuthentication {
    const clientId = stringField(form.client_id) ?? '';
    const entry = this.apps.get(clientId.toLowerCase());
    if (!entry) {
      return fail(
        400,
        'unauthorized_client',
        `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'. This can ` +
          `happen if the application has not been installed by the administrator of the tenant or consented to by any user in the ` +
          `tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const secret = stringField(form.client_secret);
    const assertion = stringField(form.client_assertion);
    if (secret !== undefined && assertion !== undefined) {
      return fail(400, 'invalid_request', "AADSTS700025: Only one of 'client_secret' and 'client_assertion' may be presented.");
    }
    if (secret !== undefined) {
      if (entry.app.clientSecret !== undefined && sameText(secret, entry.app.clientSecret)) {
        return { ok: true, app: entry.app, method: 'clientSecret' };
      }
      return fail(
        401,
        'invalid_client',
        `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, ` +
          `not the client secret ID, for a secret added to app '${entry.app.clientId}'.`,
      );
    }
    if (assertion === undefined) {
      return fail(
        401,
        'invalid_client',
        "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
      );
    }
    if (form.client_assertion_type !== JWT_BEARER) {
      return fail(400, 'invalid_request', `AADSTS50027: The client_assertion_type must be '${JWT_BEARER}'.`);
    }
    const jwt = decodeJwt(assertion);
    if (jwt && (typeof jwt.header.x5t === 'string' || typeof jwt.header['x5t#S256'] === 'string')) {
      return this.checkCertificateAssertion(entry, jwt, tokenEndpoints, nowSeconds);
    }
    if (entry.app.federatedToken !== undefined && sameText(assertion.trim(), entry.app.federatedToken)) {
      return { ok: true, app: entry.app, method: 'federatedToken' };
    }
    const claims = jwt?.payload ?? {};
    return fail(
      400,
      'invalid_request',
      `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: ` +
        `'${claimText(claims.iss)}'. Assertion Subject: '${claimText(claims.sub)}'. Assertion Audience: ` +
        `'${claimText(claims.aud)}'.`,
    );
  }

  private checkCertificateAssertion(entry: Registered, jwt: DecodedJwt, tokenEndpoints: string[], now: number): ClientAuthentication {
    const { header, payload } = jwt;
    const sha256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const given = sha256 ?? String(header.x5t);
    const presented = Buffer.from(given, 'base64url');
    const thumbprint = presented.toString('hex').toUpperCase();
    const certificate = entry.certificate;
    if (!certificate || !presented.equals(sha256 ? certificate.sha256 : certificate.sha1)) {
      return fail(
        401,
        'invalid_client',
        `AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. ` +
          `[Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}']`,
      );
    }
    if (header.alg !== 'RS256' && header.alg !== 'PS256') {
      return fail(
        401,
        'invalid_client',
        `AADSTS700027: Client assertion contains an invalid signature. [Reason - The key algorithm '${String(header.alg)}' is not ` +
          `supported.]`,
      );
    }
    const signed = Buffer.from(jwt.signingInput);
    const valid =
      header.alg === 'RS256'
        ? verify('sha256', signed, certificate.publicKey, jwt.signature)
        : verify(
            'sha256',
            signed,
            { key: certificate.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
            jwt.signature,
          );
    if (!valid) {
      return fail(
        401,
        'invalid_client',
        `AADSTS700027: Client assertion contains an invalid signature. [Reason - The provided signature value did not match the ` +
          `expected signature value., Thumbprint of key used by client: '${thumbprint}']`,
      );
    }
    if (payload.iss !== entry.app.clientId || payload.sub !== entry.app.clientId) {
      return fail(401, 'invalid_client', "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.");
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.some((aud) => typeof aud === 'string' && tokenEndpoints.includes(aud.replace(/\/+$/, '')))) {
      return fail(
        401,
        'invalid_client',
        `AADSTS700212: The client assertion's audience claim must be the token endpoint (${tokenEndpoints[0]}).`,
      );
    }
    const exp = Number(payload.exp);
    const nbf = payload.nbf === undefined ? undefined : Number(payload.nbf);
    if (!Number.isFinite(exp) || exp + SKEW_SECONDS < now || (nbf !== undefined && nbf - SKEW_SECONDS > now)) {
      return fail(401, 'invalid_client', 'AADSTS700024: Client assertion is not within its valid time range.');
    }
    return { ok: true, app: entry.app, method: 'clientCertificate' };
  }
}

interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function fail(status: number, error: string, description: string): ClientAuthentication {
  return { ok: false, status, error, description };
}

// Compared as digests: constant time whatever the lengths.
function sameText(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Shaped like Entra's generated secrets (40 characters, `~` and `.` included). */
export function generateClientSecret(): string {
  return `sim8Q~${randomBytes(30).toString('base64url').replace(/-/g, '.')}`.slice(0, 40);
}

/**
 * A federated token as AKS projects one: a JWT from the cluster's OIDC issuer for the service account, audience
 * api://AzureADTokenExchange. The simulator compares it whole, so its signature is just random bytes.
 */
export function generateFederatedToken(subject = 'system:serviceaccount:itdr-verify:itdr-verify'): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'RS256', kid: randomBytes(8).toString('hex'), typ: 'JWT' });
  const payload = encode({
    aud: ['api://AzureADTokenExchange'],
    exp: now + 24 * 3600,
    iat: now,
    iss: `https://oidc.simulator.invalid/${randomUUID()}/`,
    nbf: now,
    sub: subject,
  });
  return `${header}.${payload}.${randomBytes(256).toString('base64url')}`;
}

/** A self-signed RSA certificate with its private key (PKCS#8 PEM), valid for a year. */
export function generateAppCertificate(commonName = 'itdr-verify simulator app'): AppCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3600 * 1000);
  cert.validity.notAfter = new Date(now + 365 * 24 * 3600 * 1000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, critical: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { certificatePem: forge.pki.certificateToPem(cert), privateKeyPem: privateKey };
}

let processCertificate: AppCertificate | undefined;

/** One generated certificate per process for the default application (RSA key generation takes a moment). */
export function defaultAppCertificate(): AppCertificate {
  processCertificate ??= generateAppCertificate();
  return processCertificate;
}

/** A claim as Entra's error messages print it: a string, an audience list joined by commas, else nothing. */
function claimText(value: unknown): string {
  if (typeof value === 'string') return value;
  return Array.isArray(value) ? value.join(',') : '';
}

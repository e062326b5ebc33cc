import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

export interface DevCertificates {
  caCertPath: string;
  certPath: string;
  keyPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const CA_COMMON_NAME = 'itdr-verify simulator test CA';
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const VALIDITY_MS = 365 * 24 * 3600 * 1000;
// *.vault.localhost lets a Key Vault client pass the SDK's challenge-resource check (see key-vault.ts).
const DNS_NAMES = ['localhost', '*.vault.localhost'];
const IP_ADDRESSES = ['127.0.0.1', '::1'];
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 60_000;

/**
 * Returns a test CA and a server certificate for the simulator, creating them in `dir` when missing,
 * inconsistent or expiring within 7 days. Several processes may call this at once (the test runner and
 * `npm run dev` both do): generation happens under a lock file and every file is written by rename, so a
 * reader never sees a half-written file nor a certificate from another CA.
 */
export function ensureDevCertificates(dir: string): DevCertificates {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = {
    caCertPath: path.join(dir, 'ca.pem'),
    certPath: path.join(dir, 'server-cert.pem'),
    keyPath: path.join(dir, 'server-key.pem'),
  };
  const existing = readIfUsable(paths);
  if (existing) return existing;
  return withLock(path.join(dir, '.generate.lock'), () => {
    // Another process may have finished while we waited for the lock.
    const again = readIfUsable(paths);
    if (again) return again;
    const generated = generate();
    writeAtomically(paths.keyPath, generated.keyPem, 0o600);
    writeAtomically(paths.certPath, generated.certPem, 0o644);
    writeAtomically(paths.caCertPath, generated.caPem, 0o644);
    return { ...paths, ...generated };
  });
}

function readIfUsable(paths: Pick<DevCertificates, 'caCertPath' | 'certPath' | 'keyPath'>): DevCertificates | undefined {
  let caPem: string;
  let certPem: string;
  let keyPem: string;
  try {
    caPem = fs.readFileSync(paths.caCertPath, 'utf8');
    certPem = fs.readFileSync(paths.certPath, 'utf8');
    keyPem = fs.readFileSync(paths.keyPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    const renewAfter = Date.now() + RENEW_BEFORE_MS;
    const usable =
      ca.ca &&
      new Date(ca.validTo).getTime() > renewAfter &&
      new Date(cert.validTo).getTime() > renewAfter &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(keyPem)) &&
      DNS_NAMES.every((name) => cert.checkHost(name.replace('*', 'x')) !== undefined) &&
      IP_ADDRESSES.every((ip) => cert.checkIP(ip) !== undefined);
    return usable ? { ...paths, caPem, certPem, keyPem } : undefined;
  } catch {
    return undefined;
  }
}

function generate(): { caPem: string; certPem: string; keyPem: string } {
  const now = Date.now();
  // Backdated an hour so a slightly slow clock elsewhere does not reject a fresh certificate.
  const notBefore = new Date(now - 3600 * 1000);
  const notAfter = new Date(now + VALIDITY_MS);

  const caKeys = rsaKeyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = caKeys.forgePublic;
  caCert.serialNumber = serialNumber();
  caCert.validity.notBefore = notBefore;
  caCert.validity.notAfter = new Date(now + VALIDITY_MS + 24 * 3600 * 1000);
  const caSubject = [{ name: 'commonName', value: CA_COMMON_NAME }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKeys.forgePrivate, forge.md.sha256.create());

  const serverKeys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = serverKeys.forgePublic;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...DNS_NAMES.map((value) => ({ type: 2, value })), ...IP_ADDRESSES.map((ip) => ({ type: 7, ip }))],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.forgePrivate, forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(caCert),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: serverKeys.privatePem,
  };
}

// Node generates RSA keys far faster than forge's pure-JS generator; forge only signs.
function rsaKeyPair(): { forgePublic: forge.pki.rsa.PublicKey; forgePrivate: forge.pki.rsa.PrivateKey; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    forgePublic: forge.pki.publicKeyFromPem(publicKey),
    forgePrivate: forge.pki.privateKeyFromPem(privateKey),
    privatePem: privateKey,
  };
}

// Positive (high bit clear) and unique, as RFC 5280 asks.
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function writeAtomically(file: string, content: string, mode: number): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temp, content, { mode });
    fs.chmodSync(temp, mode); // writeFileSync's mode is filtered by the umask
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

function withLock<T>(lockFile: string, action: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lockFile, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      removeIfStale(lockFile);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile}`, { cause: error });
      sleepSync(50);
    }
  }
  try {
    return action();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

// A process killed while generating leaves its lock behind; generation takes well under a second.
function removeIfStale(lockFile: string): void {
  try {
    if (Date.now() - fs.statSync(lockFile).mtimeMs > LOCK_STALE_MS) fs.rmSync(lockFile, { force: true });
  } catch {
    // Gone already.
  }
}

// The function is synchronous by contract (the test runner calls it before anything else), so wait without
// an event loop.
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

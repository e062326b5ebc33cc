import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

/** A private CA, the Temporal frontend's server certificate and one client certificate, as PEM files. */
export interface ClusterCertificates {
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
}

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKey: forge.pki.publicKeyFromPem(publicKey), privateKey: forge.pki.privateKeyFromPem(privateKey), privatePem: privateKey };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

/** Writes the certificates into `dir` (keys 0600). Valid for a day: they live as long as one test run. */
export function createClusterCertificates(dir: string): ClusterCertificates {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const ca = keyPair();
  const caCert = forge.pki.createCertificate();
  const caName = [{ name: 'commonName', value: 'itdr-verify stack test Temporal CA' }];
  Object.assign(caCert, { publicKey: ca.publicKey, serialNumber: serial() });
  caCert.validity.notBefore = notBefore;
  caCert.validity.notAfter = notAfter;
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const issue = (commonName: string, usage: 'server' | 'client') => {
    const keys = keyPair();
    const cert = forge.pki.createCertificate();
    Object.assign(cert, { publicKey: keys.publicKey, serialNumber: serial() });
    cert.validity.notBefore = notBefore;
    cert.validity.notAfter = notAfter;
    cert.setSubject([{ name: 'commonName', value: commonName }]);
    cert.setIssuer(caName);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: usage === 'server', clientAuth: usage === 'client' },
      ...(usage === 'server'
        ? [
            {
              name: 'subjectAltName',
              altNames: [
                { type: 2, value: 'localhost' },
                { type: 7, ip: '127.0.0.1' },
              ],
            },
          ]
        : []),
      { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    cert.sign(ca.privateKey, forge.md.sha256.create());
    return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
  };
  const server = issue('localhost', 'server');
  const client = issue('itdr-verify', 'client');
  const files: ClusterCertificates = {
    caPath: path.join(dir, 'ca.pem'),
    serverCertPath: path.join(dir, 'server.pem'),
    serverKeyPath: path.join(dir, 'server.key'),
    clientCertPath: path.join(dir, 'client.pem'),
    clientKeyPath: path.join(dir, 'client.key'),
  };
  fs.writeFileSync(files.caPath, forge.pki.certificateToPem(caCert), { mode: 0o644 });
  fs.writeFileSync(files.serverCertPath, server.certPem, { mode: 0o644 });
  fs.writeFileSync(files.serverKeyPath, server.keyPem, { mode: 0o600 });
  fs.writeFileSync(files.clientCertPath, client.certPem, { mode: 0o644 });
  fs.writeFileSync(files.clientKeyPath, client.keyPem, { mode: 0o600 });
  return files;
}

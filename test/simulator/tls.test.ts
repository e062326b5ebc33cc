import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { ensureDevCertificates } from '../../tools/simulator/tls';

const run = promisify(execFile);

describe('ensureDevCertificates', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-tls-test-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates a CA and a localhost server certificate signed by it', () => {
    const dir = path.join(root, 'fresh', 'nested');
    const result = ensureDevCertificates(dir);
    assert.equal(result.caCertPath, path.join(dir, 'ca.pem'));
    assert.equal(fs.readFileSync(result.certPath, 'utf8'), result.certPem);
    assert.equal(fs.statSync(result.keyPath).mode & 0o777, 0o600);

    const ca = new X509Certificate(result.caPem);
    const cert = new X509Certificate(result.certPem);
    assert.equal(ca.subject, 'CN=itdr-verify simulator test CA');
    assert.ok(ca.ca);
    assert.ok(!cert.ca);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(cert.checkIssued(ca));
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(cert.checkIP('::1'));
    const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days < 366, `valid ${days} days`);
    assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
  });

  it('reuses valid certificates and replaces broken ones', () => {
    const dir = path.join(root, 'reuse');
    const first = ensureDevCertificates(dir);
    assert.equal(ensureDevCertificates(dir).certPem, first.certPem);
    fs.writeFileSync(first.certPath, 'not a certificate');
    const second = ensureDevCertificates(dir);
    assert.notEqual(second.certPem, first.certPem);
    assert.ok(new X509Certificate(second.certPem).verify(new X509Certificate(second.caPem).publicKey));
  });

  it('renews certificates that expire within 7 days', () => {
    const dir = path.join(root, 'expiring');
    const first = ensureDevCertificates(dir);
    // Re-issue both with the same key but a 3-day life: still consistent, only too short-lived.
    const key = forge.pki.privateKeyFromPem(first.keyPem);
    const publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    const issue = (ca: boolean) => {
      const cert = forge.pki.createCertificate();
      cert.publicKey = publicKey;
      cert.serialNumber = ca ? '01' : '02';
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 3 * 86_400_000);
      const subject = [{ name: 'commonName', value: ca ? 'itdr-verify simulator test CA' : 'localhost' }];
      cert.setSubject(subject);
      cert.setIssuer([{ name: 'commonName', value: 'itdr-verify simulator test CA' }]);
      cert.setExtensions(
        ca
          ? [{ name: 'basicConstraints', cA: true }]
          : [
              {
                name: 'subjectAltName',
                altNames: [
                  { type: 2, value: 'localhost' },
                  { type: 2, value: '*.vault.localhost' },
                  { type: 7, ip: '127.0.0.1' },
                  { type: 7, ip: '::1' },
                ],
              },
            ],
      );
      cert.sign(key, forge.md.sha256.create());
      return forge.pki.certificateToPem(cert);
    };
    fs.writeFileSync(first.caCertPath, issue(true));
    fs.writeFileSync(first.certPath, issue(false));
    const renewed = ensureDevCertificates(dir);
    const days = (new Date(new X509Certificate(renewed.certPem).validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 300, `renewed certificate valid ${days} days`);
  });

  it('gives concurrent processes one consistent set', async () => {
    const dir = path.join(root, 'concurrent');
    const module = path.resolve(__dirname, '../../tools/simulator/tls.js');
    const script =
      `const ` + `c=require(${JSON.stringify(module)}).ensureDevCertificates(${JSON.stringify(dir)});process.stdout.write(c.certPem)`;
    const outputs = await Promise.all([1, 2, 3].map(() => run(process.execPath, ['-e', script])));
    const pems = new Set(outputs.map((output) => output.stdout));
    assert.equal(pems.size, 1, 'every process got the same certificate');
    const onDisk = ensureDevCertificates(dir);
    assert.equal(onDisk.certPem, outputs[0]?.stdout);
    assert.ok(new X509Certificate(onDisk.certPem).verify(new X509Certificate(onDisk.caPem).publicKey));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['ca.pem', 'server-cert.pem', 'server-key.pem']);
  });
});

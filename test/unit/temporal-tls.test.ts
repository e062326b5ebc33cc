import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadWorkerConfig } from '../../src/config/worker';
import { connectionOptionsFor } from '../../src/temporal/connection';

const base = {
  PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  AZURE_KEY_VAULT_URL: 'https://kv-itdr.vault.azure.net/',
  SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
};

describe('Temporal TLS settings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-tls-'));
  const file = (name: string, content: string) => {
    const full = path.join(dir, name);
    fs.writeFileSync(full, content);
    return full;
  };
  const ca = file('ca.pem', 'CA PEM');
  const cert = file('client.pem', 'CERT PEM');
  const key = file('client.key', 'KEY PEM');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is off without certificate, CA or API key', async () => {
    const options = await connectionOptionsFor(loadWorkerConfig(base).temporal);
    assert.equal(options.tls, undefined);
  });

  it('trusts a private CA alone: server-authenticated TLS, no client certificate', async () => {
    const config = loadWorkerConfig({ ...base, TEMPORAL_TLS_CA_PATH: ca }).temporal;
    const options = await connectionOptionsFor(config);
    assert.deepEqual(options.tls, { serverRootCACertificate: Buffer.from('CA PEM') });
  });

  it('adds the client certificate for mTLS, with or without the CA', async () => {
    const both = await connectionOptionsFor(
      loadWorkerConfig({ ...base, TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS_CA_PATH: ca }).temporal,
    );
    assert.deepEqual(both.tls, {
      clientCertPair: { crt: Buffer.from('CERT PEM'), key: Buffer.from('KEY PEM') },
      serverRootCACertificate: Buffer.from('CA PEM'),
    });
    const publicCa = await connectionOptionsFor(
      loadWorkerConfig({ ...base, TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key }).temporal,
    );
    assert.deepEqual(publicCa.tls, { clientCertPair: { crt: Buffer.from('CERT PEM'), key: Buffer.from('KEY PEM') } });
  });

  it('still refuses half a client certificate pair', () => {
    assert.throws(
      () => loadWorkerConfig({ ...base, TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_CA_PATH: ca }),
      /TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together/,
    );
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, isPayloadKeyMismatch, PayloadKeyMismatchError } from '../../src/temporal/payload-codec';

describe('EncryptionCodec', () => {
  const key = { id: 'k1', key: randomBytes(32) };
  const secretLink = 'https://demo.incode.example/verify/abc?token=very-secret';

  it('round-trips payloads and leaves no plaintext behind', async () => {
    const codec = new EncryptionCodec(key);
    const payload = defaultPayloadConverter.toPayload({ verificationUrl: secretLink });
    const [encoded] = await codec.encode([payload]);
    assert.ok(!Buffer.from(encoded.data!).toString('latin1').includes('very-secret'));
    assert.equal(Buffer.from(encoded.metadata!.encoding).toString(), 'binary/encrypted');
    const [decoded] = await codec.decode([encoded]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), { verificationUrl: secretLink });
  });

  it('decodes with an old key after rotation, and refuses tampered data', async () => {
    const [encoded] = await new EncryptionCodec(key).encode([defaultPayloadConverter.toPayload('x')]);
    const rotated = new EncryptionCodec({ id: 'k2', key: randomBytes(32) }, [key]);
    assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([encoded]))[0]), 'x');
    const tampered = { ...encoded, data: Buffer.from(encoded.data!) };
    tampered.data[20] ^= 1;
    await assert.rejects(rotated.decode([tampered]));
    await assert.rejects(
      new EncryptionCodec({ id: 'k3', key: randomBytes(32) }).decode([encoded]),
      /payload_key_mismatch: no payload decryption key with id "k1"/,
    );
  });

  it('names a payload written with another key of the same id as a key mismatch', async () => {
    const [encoded] = await new EncryptionCodec(key).encode([defaultPayloadConverter.toPayload('x')]);
    const other = new EncryptionCodec({ id: 'k1', key: randomBytes(32) });
    const error = await other.decode([encoded]).then(
      () => assert.fail('decoded with the wrong key'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof PayloadKeyMismatchError);
    assert.match((error as Error).message, /^payload_key_mismatch: .*key id "k1".*another key/);
    assert.ok(!(error as Error).message.includes(key.key.toString('base64')), 'the key is never in the message');
    // Carried across processes as a failure message, possibly as a cause.
    assert.ok(isPayloadKeyMismatch(new Error('query failed', { cause: new Error((error as Error).message) })));
    assert.ok(!isPayloadKeyMismatch(new Error('Unsupported state or unable to authenticate data elsewhere')));
  });

  it('passes unencrypted payloads through (histories written before the codec)', async () => {
    const plain = defaultPayloadConverter.toPayload({ a: 1 });
    assert.deepEqual(await new EncryptionCodec(key).decode([plain]), [plain]);
  });
});

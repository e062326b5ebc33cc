import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfirmationLinks, deriveLinkKey } from '../../src/confirmation/confirmation-link';

describe('confirmation page links', () => {
  const links = new ConfirmationLinks(randomBytes(32), 'https://verify.contoso.com/');
  const claims = { workflowId: 'idv-ws-abc-incident-1', user: 'Demo.User@contoso.com', expiresAt: Date.now() + 60_000 };

  it('round-trips the verification, the user (lower-cased) and the expiry, under the page path', () => {
    const url = links.url(claims);
    assert.match(url, /^https:\/\/verify\.contoso\.com\/confirm\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const check = links.verify(url.split('/confirm/')[1]);
    assert.deepEqual(check, { ok: true, claims: { ...claims, user: 'demo.user@contoso.com' } });
  });

  it('refuses a tampered payload or mac, a token signed with another key, and garbage', () => {
    const token = links.token(claims);
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ w: 'idv-other', u: 'demo.user@contoso.com', e: claims.expiresAt })).toString('base64url');
    assert.deepEqual(links.verify(`${forged}.${mac}`), { ok: false, reason: 'invalid' });
    assert.deepEqual(links.verify(`${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`), { ok: false, reason: 'invalid' });
    assert.deepEqual(new ConfirmationLinks(randomBytes(32), 'https://x').verify(token), { ok: false, reason: 'invalid' });
    for (const garbage of ['', 'abc', `${payload}.`, '../../etc/passwd'])
      assert.deepEqual(links.verify(garbage), { ok: false, reason: 'invalid' });
  });

  it('refuses an expired link', () => {
    const token = links.token({ ...claims, expiresAt: Date.now() - 1 });
    assert.deepEqual(links.verify(token), { ok: false, reason: 'expired' });
  });

  it('the form nonce belongs to one link, and the derived key differs from the payload key', () => {
    const token = links.token(claims);
    assert.equal(links.nonceMatches(token, links.formNonce(token)), true);
    assert.equal(links.nonceMatches(token, links.formNonce(links.token({ ...claims, workflowId: 'idv-other' }))), false);
    assert.equal(links.nonceMatches(token, undefined), false);
    const payloadKey = randomBytes(32);
    assert.notDeepEqual(deriveLinkKey(payloadKey), payloadKey);
    assert.deepEqual(deriveLinkKey(payloadKey), deriveLinkKey(payloadKey));
  });
});

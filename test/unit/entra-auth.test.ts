import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, before, after } from 'node:test';
import { SignJWT, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, type JWK, type KeyLike } from 'jose';
import { loadGatewayConfig } from '../../src/config/gateway';
import type { GatewayEntraConfig } from '../../src/config/gateway-auth';
import {
  BearerTokenError,
  CLOCK_SKEW_SECONDS,
  KeySetUnavailableError,
  createEntraTokenValidator,
  entraIssuers,
  type BearerFailureReason,
} from '../../src/gateway/entra-auth';

const TENANT = '3f6c1a52-9d0e-4b8f-a1c7-2e5d9b0f4a61';
const OTHER_TENANT = '0b1e2d3c-4a5f-4678-9abc-def012345678';
const PLAYBOOK_OID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const STRANGER_OID = '11111111-2222-4333-8444-555555555555';
const AUDIENCE = 'api://itdr-verify-gateway';
const AUTHORITY = 'https://login.microsoftonline.com';
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`;
const V2_ISSUER = `${AUTHORITY}/${TENANT}/v2.0`;

const config: GatewayEntraConfig = {
  tenantId: TENANT,
  audiences: [AUDIENCE],
  allowedCallers: [{ name: 'sentinel-playbook', objectId: PLAYBOOK_OID }],
  authorityHost: AUTHORITY,
  jwksUrl: `${AUTHORITY}/${TENANT}/discovery/v2.0/keys`,
};

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('Entra ID bearer token validation', () => {
  let tenantKey: { privateKey: KeyLike; publicKey: KeyLike; jwk: JWK };
  let rogueKey: { privateKey: KeyLike; publicKey: KeyLike };
  let validate: ReturnType<typeof createEntraTokenValidator>;

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    tenantKey = { ...pair, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'tenant-key-1', alg: 'RS256', use: 'sig' } };
    rogueKey = await generateKeyPair('RS256');
    validate = createEntraTokenValidator(config, { keys: createLocalJWKSet({ keys: [tenantKey.jwk] }) });
  });

  const now = () => Math.floor(Date.now() / 1000);
  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const t = now();
    return {
      aud: AUDIENCE,
      iss: V1_ISSUER,
      iat: t,
      nbf: t,
      exp: t + 3600,
      appid: randomUUID(),
      idtyp: 'app',
      oid: PLAYBOOK_OID,
      sub: PLAYBOOK_OID,
      tid: TENANT,
      ver: '1.0',
      ...overrides,
    };
  }
  function token(overrides: Record<string, unknown> = {}, options: { kid?: string | null; key?: KeyLike; alg?: string } = {}) {
    const header: Record<string, unknown> = { alg: options.alg ?? 'RS256', typ: 'JWT' };
    if (options.kid !== null) header.kid = options.kid ?? 'tenant-key-1';
    const payload = Object.fromEntries(Object.entries(claims(overrides)).filter(([, value]) => value !== undefined));
    return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(options.key ?? tenantKey.privateKey);
  }
  async function refused(jwt: string | Promise<string>, reason: BearerFailureReason): Promise<BearerTokenError> {
    const value = await jwt;
    const error = await validate(value).then(
      () => assert.fail(`accepted a token that should fail with ${reason}`),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof BearerTokenError, `expected BearerTokenError, got ${String(error)}`);
    assert.equal(error.reason, reason, `${error.reason}: ${error.detail}`);
    // The public message names the failure and nothing of the token or the configuration.
    for (const secret of [AUDIENCE, TENANT, PLAYBOOK_OID, STRANGER_OID, 'tenant-key-1', value.slice(0, 20)].filter(
      (text) => text.length >= 8,
    )) {
      assert.ok(!error.message.includes(secret), `message "${error.message}" leaks ${secret}`);
    }
    return error;
  }

  it('accepts a v1 token of an allowed managed identity and names the caller', async () => {
    const caller = await validate(await token());
    assert.equal(caller.name, 'sentinel-playbook');
    assert.equal(caller.objectId, PLAYBOOK_OID);
    assert.equal(caller.tokenVersion, '1.0');
  });

  it('accepts a v2 token (issuer {authority}/{tenant}/v2.0, azp) and upper-case GUIDs', async () => {
    const caller = await validate(
      await token({
        iss: V2_ISSUER,
        ver: '2.0',
        appid: undefined,
        azp: 'c0ffee00-0000-4000-8000-000000000000',
        oid: PLAYBOOK_OID.toUpperCase(),
        tid: TENANT.toUpperCase(),
      }),
    );
    assert.equal(caller.name, 'sentinel-playbook');
    assert.equal(caller.appId, 'c0ffee00-0000-4000-8000-000000000000');
  });

  it('refuses a token for another audience', async () => {
    await refused(token({ aud: 'https://management.azure.com' }), 'audience');
    await refused(token({ aud: [AUDIENCE.toUpperCase()] }), 'audience');
  });

  it('refuses another issuer: other tenant, common endpoint, look-alike host', async () => {
    await refused(token({ iss: `https://sts.windows.net/${OTHER_TENANT}/` }), 'issuer');
    await refused(token({ iss: `${AUTHORITY}/common/v2.0` }), 'issuer');
    await refused(token({ iss: `https://sts.windows.net.evil.example/${TENANT}/` }), 'issuer');
    await refused(token({ iss: undefined }), 'issuer');
  });

  it("refuses a token whose tid is not the tenant's, even with the right issuer", async () => {
    await refused(token({ tid: OTHER_TENANT }), 'tenant');
  });

  it(`refuses expired tokens, allowing ${CLOCK_SKEW_SECONDS} s of clock skew`, async () => {
    await refused(token({ iat: now() - 7200, nbf: now() - 7200, exp: now() - CLOCK_SKEW_SECONDS - 60 }), 'expired');
    const justExpired = await validate(await token({ exp: now() - Math.floor(CLOCK_SKEW_SECONDS / 2) }));
    assert.equal(justExpired.name, 'sentinel-playbook');
    await refused(token({ exp: undefined }), 'claims');
  });

  it(`refuses tokens not yet valid, allowing ${CLOCK_SKEW_SECONDS} s of clock skew`, async () => {
    await refused(token({ nbf: now() + CLOCK_SKEW_SECONDS + 120 }), 'not_yet_valid');
    assert.equal((await validate(await token({ nbf: now() + Math.floor(CLOCK_SKEW_SECONDS / 2) }))).name, 'sentinel-playbook');
  });

  it('refuses an unknown or missing kid', async () => {
    await refused(token({}, { kid: 'not-a-tenant-key' }), 'unknown_key');
    await refused(token({}, { kid: null }), 'unknown_key');
  });

  it('refuses alg "none"', async () => {
    const header = { alg: 'none', typ: 'JWT', kid: 'tenant-key-1' };
    await refused(`${b64(header)}.${b64(claims())}.`, 'algorithm');
    await refused(`${b64({ ...header, alg: 'None' })}.${b64(claims())}.`, 'algorithm');
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const header = { alg: 'HS256', typ: 'JWT', kid: 'tenant-key-1' };
    const input = `${b64(header)}.${b64(claims())}`;
    for (const secret of [await exportSPKI(tenantKey.publicKey), JSON.stringify(tenantKey.jwk), String(tenantKey.jwk.n)]) {
      const signature = createHmac('sha256', secret).update(input).digest('base64url');
      await refused(`${input}.${signature}`, 'algorithm');
    }
  });

  it('refuses other asymmetric algorithms (PS256, ES256)', async () => {
    await refused(token({}, { alg: 'PS256' }), 'algorithm');
    const ec = await generateKeyPair('ES256');
    await refused(token({}, { alg: 'ES256', key: ec.privateKey }), 'algorithm');
  });

  it("refuses a token signed with another key under the tenant key's kid", async () => {
    await refused(token({}, { key: rogueKey.privateKey }), 'signature');
  });

  it('refuses a tampered payload or signature', async () => {
    const [header, , signature] = (await token({ oid: STRANGER_OID })).split('.');
    await refused(`${header}.${b64(claims())}.${signature}`, 'signature');
    const good = await token();
    const flipped = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await refused(flipped, 'signature');
  });

  it('refuses a valid token of a caller that is not allowed', async () => {
    await refused(token({ oid: STRANGER_OID, sub: STRANGER_OID }), 'caller_not_allowed');
    await refused(token({ oid: undefined }), 'claims');
    await refused(token({ oid: 42 }), 'claims');
  });

  it('refuses garbage without throwing anything else', async () => {
    for (const garbage of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '....',
      `${b64('x')}.${b64('y')}.z`,
      `${b64([1])}.${b64(claims())}.sig`,
      'x'.repeat(9000),
      'é.é.é',
    ]) {
      await refused(garbage, 'malformed');
    }
    // A payload that is not JSON, under a made-up signature: the signature is checked first.
    await refused(`${b64({ alg: 'RS256', kid: 'tenant-key-1' })}.${b64('not json')}.sig`, 'signature');
    const numbers = await token({ exp: 'tomorrow' });
    await refused(numbers, 'claims');
  });

  it('knows the v1 and v2 issuers, Azure China included', () => {
    assert.deepEqual(entraIssuers('https://login.microsoftonline.com/', TENANT), [V2_ISSUER, V1_ISSUER]);
    assert.deepEqual(entraIssuers('https://login.chinacloudapi.cn', TENANT), [
      `https://login.chinacloudapi.cn/${TENANT}/v2.0`,
      `https://sts.chinacloudapi.cn/${TENANT}/`,
    ]);
  });

  describe('remote key set', () => {
    let server: http.Server;
    let published: JWK[];
    let fetches = 0;
    let url: string;

    before(async () => {
      published = [tenantKey.jwk];
      server = http.createServer((req, res) => {
        fetches += 1;
        if (req.url === '/broken') {
          res.writeHead(500).end('nope');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fetches the keys once, and again when a token names a new key (rollover)', async () => {
      const remote = createEntraTokenValidator({ ...config, jwksUrl: `${url}/keys` }, { remoteKeySet: { cooldownMs: 200 } });
      fetches = 0;
      await remote(await token());
      await remote(await token());
      assert.equal(fetches, 1, 'cached');
      const next = await generateKeyPair('RS256', { extractable: true });
      published = [tenantKey.jwk, { ...(await exportJWK(next.publicKey)), kid: 'tenant-key-2', alg: 'RS256', use: 'sig' }];
      await new Promise((resolve) => setTimeout(resolve, 250));
      const caller = await remote(await token({}, { kid: 'tenant-key-2', key: next.privateKey }));
      assert.equal(caller.name, 'sentinel-playbook');
      assert.equal(fetches, 2);
      // Within the cool-down an unknown kid does not make it fetch again.
      await assert.rejects(
        remote(await token({}, { kid: 'tenant-key-3' })),
        (error: unknown) => error instanceof BearerTokenError && error.reason === 'unknown_key',
      );
      assert.equal(fetches, 2);
    });

    it('an unreachable or broken key set is not the caller’s fault (KeySetUnavailableError, not 401)', async () => {
      const broken = createEntraTokenValidator({ ...config, jwksUrl: `${url}/broken` });
      await assert.rejects(broken(await token()), KeySetUnavailableError);
      const closed = createEntraTokenValidator({ ...config, jwksUrl: 'http://127.0.0.1:9/keys' });
      await assert.rejects(closed(await token()), KeySetUnavailableError);
      // Malformed tokens are refused before any key is fetched.
      await assert.rejects(closed('garbage'), BearerTokenError);
    });
  });
});

describe('gateway configuration: Entra ID and API keys', () => {
  const base = {
    PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    SENTINEL_SUBSCRIPTION_ID: '6a0c4f2e-8d1b-4c3a-9e5f-0b7d2a1c3e4f',
    SENTINEL_RESOURCE_GROUP: 'rg',
    SENTINEL_WORKSPACE_NAME: 'ws',
    INCODE_WEBHOOK_SECRET: 'a-webhook-secret-of-24-chars-or-more',
  };
  const entra = {
    GATEWAY_ENTRA_TENANT_ID: TENANT,
    GATEWAY_ENTRA_AUDIENCE: `${AUDIENCE}, 6f1d2c3b-0000-4000-8000-000000000001`,
    GATEWAY_ENTRA_ALLOWED_CALLERS: `sentinel-playbook=${PLAYBOOK_OID.toUpperCase()},${STRANGER_OID}`,
  };

  it('Entra alone is enough; GATEWAY_API_KEYS becomes optional', () => {
    const config = loadGatewayConfig({ ...base, ...entra });
    assert.deepEqual(config.callers, []);
    assert.deepEqual(config.entra, {
      tenantId: TENANT,
      audiences: [AUDIENCE, '6f1d2c3b-0000-4000-8000-000000000001'],
      allowedCallers: [
        { name: 'sentinel-playbook', objectId: PLAYBOOK_OID },
        { name: `entra-${STRANGER_OID}`, objectId: STRANGER_OID },
      ],
      authorityHost: 'https://login.microsoftonline.com',
      jwksUrl: `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
    });
    assert.equal(config.rateLimitPerMinute, 600);
  });

  it('follows the Azure cloud, and takes explicit authority host, JWKS URL and rate limit', () => {
    assert.equal(
      loadGatewayConfig({ ...base, ...entra, AZURE_CLOUD: 'usgovernment' }).entra?.authorityHost,
      'https://login.microsoftonline.us',
    );
    const config = loadGatewayConfig({
      ...base,
      ...entra,
      GATEWAY_API_KEYS: 'cli=0123456789abcdef01234567',
      GATEWAY_ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:8443/',
      GATEWAY_ENTRA_JWKS_URL: 'https://keys.example.com/keys',
      GATEWAY_RATE_LIMIT_PER_MINUTE: '30',
    });
    assert.equal(config.entra?.authorityHost, 'https://127.0.0.1:8443');
    assert.equal(config.entra?.jwksUrl, 'https://keys.example.com/keys');
    assert.equal(config.callers.length, 1);
    assert.equal(config.rateLimitPerMinute, 30);
  });

  it('needs API keys or Entra, and Entra complete', () => {
    assert.throws(() => loadGatewayConfig(base), /GATEWAY_API_KEYS: is required unless Entra ID authentication is configured/);
    assert.throws(
      () => loadGatewayConfig({ ...base, GATEWAY_ENTRA_AUDIENCE: AUDIENCE }),
      /GATEWAY_ENTRA_TENANT_ID: is required when GATEWAY_ENTRA_AUDIENCE is set/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...base, GATEWAY_ENTRA_TENANT_ID: TENANT }),
      (error: Error) =>
        /GATEWAY_ENTRA_AUDIENCE: is required/.test(error.message) && /GATEWAY_ENTRA_ALLOWED_CALLERS: is required/.test(error.message),
    );
    assert.throws(
      () => loadGatewayConfig({ ...base, ...entra, GATEWAY_ENTRA_TENANT_ID: 'contoso.onmicrosoft.com' }),
      /GATEWAY_ENTRA_TENANT_ID: must be the tenant id/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...base, ...entra, GATEWAY_ENTRA_ALLOWED_CALLERS: 'playbook=not-a-guid' }),
      /"playbook" is not an object id/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...base, ...entra, GATEWAY_ENTRA_ALLOWED_CALLERS: `a=${PLAYBOOK_OID},b=${PLAYBOOK_OID}` }),
      /listed twice/,
    );
    assert.throws(
      () => loadGatewayConfig({ ...base, ...entra, GATEWAY_ENTRA_JWKS_URL: 'http://keys.example.com' }),
      /GATEWAY_ENTRA_JWKS_URL: must be an https:\/\/ URL/,
    );
    assert.throws(() => loadGatewayConfig({ ...base, ...entra, GATEWAY_RATE_LIMIT_PER_MINUTE: '0' }), /GATEWAY_RATE_LIMIT_PER_MINUTE/);
  });
});

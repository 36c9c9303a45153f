import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, revokeToken, type TestApp } from '../harness.js';
import { testClock } from '../support/test-clock.js';

const clock = testClock('2026-11-18T12:00:00.000Z');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t?.close());

const EXCHANGE = `mutation($input: ExchangeTokenInput!) { exchangeToken(input: $input) {
  __typename ... on ExchangeTokenPayload { jwt tokenType expiresAt } ... on ValidationError { message } } }`;


async function keySet() {
  const base = await t.listen();
  const response = await fetch(`${base}/.well-known/jwks.json`);
  expect(response.headers.get('cache-control')).toContain('max-age');
  return (await response.json()) as { keys: Record<string, unknown>[] };
}

describe('exchangeToken', () => {
  it('trades a valid token for a short-lived EdDSA JWT that verifies offline against the JWKS', async () => {
    const owner = await t.user({ permissions: ['tools.*'] });
    const { token, secret } = await mintToken(t, owner.jwt, { name: 'offline', permissions: ['tools.read'] });
    const response = await t.gql(EXCHANGE, { input: { token: secret } });
    const exchanged = response.data.exchangeToken;
    expect(exchanged.__typename).toBe('ExchangeTokenPayload');
    expect(exchanged.tokenType).toBe('Bearer');
    expect(Date.parse(exchanged.expiresAt)).toBe(clock.now() + 300_000);
    const set = await keySet();
    expect(set.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(JSON.stringify(set)).not.toContain('"d"');
    const { payload, protectedHeader } = await jwtVerify(exchanged.jwt, createLocalJWKSet(set as never), {
      issuer: 'keymint',
      currentDate: clock(),
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ token_id: token.id, permissions: ['tools.read'], sub: expect.stringMatching(/^usr_/) });
    expect(payload.exp).toBe(Math.floor((clock.now() + 300_000) / 1000));
  });

  it('refuses a token that does not verify', async () => {
    const owner = await t.user();
    const { token, secret } = await mintToken(t, owner.jwt, { name: 'gone' });
    await revokeToken(t, owner.jwt, { id: token.id });
    const refused = (await t.gql(EXCHANGE, { input: { token: secret } })).data.exchangeToken;
    expect(refused).toEqual({ __typename: 'ValidationError', message: 'the token cannot be exchanged: REVOKED' });
    expect((await t.gql(EXCHANGE, { input: { token: 'garbage' } })).data.exchangeToken.__typename).toBe('ValidationError');
  });

  it('never outlives the token', async () => {
    const owner = await t.user();
    const expiresAt = new Date(clock.now() + 60_000).toISOString();
    const { secret } = await mintToken(t, owner.jwt, { name: 'almost done', expiresInDays: undefined, expiresAt });
    const exchanged = (await t.gql(EXCHANGE, { input: { token: secret } })).data.exchangeToken;
    expect(exchanged.expiresAt).toBe(expiresAt);
  });

  it('after a key rotation, new JWTs use the new key and the old key stays published until its JWTs expire', async () => {
    const owner = await t.user();
    const { secret } = await mintToken(t, owner.jwt, { name: 'rotating keys' });
    const before = (await t.gql(EXCHANGE, { input: { token: secret } })).data.exchangeToken.jwt;
    const oldKid = JSON.parse(Buffer.from(before.split('.')[0], 'base64url').toString()).kid;
    const newKid = await t.app.signingKeys.rotate();
    const after = (await t.gql(EXCHANGE, { input: { token: secret } })).data.exchangeToken.jwt;
    expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString()).kid).toBe(newKid);
    expect((await keySet()).keys.map((k) => k.kid).sort()).toEqual([newKid, oldKid].sort());
    await clock.at(clock.now() + 301_000, async () => {
      // Cached for a minute; a fresh view after the old key's last JWT expired drops it.
      const fresh = await t.app.signingKeys.jwks();
      expect(fresh.keys.map((k) => k.kid)).toEqual([newKid]);
    });
  });
});

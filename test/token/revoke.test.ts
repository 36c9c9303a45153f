import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, randomTokenId, revokeToken, type TestApp } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('revokeToken: happy', () => {
  it('revokes with the default reason and the caller as author', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'leaky' });
    const result = await revokeToken(t, alice.jwt, { id: token.id });
    expect(result.__typename).toBe('RevokeTokenPayload');
    expect(result.token.status).toBe('REVOKED');
    expect(result.token.revocation).toMatchObject({ revokedBy: alice.email, reason: 'Revoked by user' });
    expect(Date.parse(result.token.revocation.revokedAt)).toBeLessThanOrEqual(Date.now());
  });

  it('keeps the given reason', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'pasted in chat' });
    const result = await revokeToken(t, alice.jwt, { id: token.id, reason: 'Pasted into a chat' });
    expect(result.token.revocation.reason).toBe('Pasted into a chat');
  });

  it('revoking twice keeps and returns the first revocation', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'twice' });
    const first = await revokeToken(t, alice.jwt, { id: token.id, reason: 'first' });
    const second = await revokeToken(t, alice.jwt, { id: token.id, reason: 'second' });
    expect(second.__typename).toBe('RevokeTokenPayload');
    expect(second.token.revocation).toEqual(first.token.revocation);
  });

  it('concurrent revocations record exactly one revocation', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'raced' });
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => revokeToken(t, alice.jwt, { id: token.id, reason: `r${i}` })),
    );
    const revocations = new Set(results.map((r) => JSON.stringify(r.token.revocation)));
    expect(revocations.size).toBe(1);
    const rows = await t.orm.em.getConnection().execute(
      `select count(*)::int as n from revocations r join tokens t on t.id = r.token_id where t.prefix = ?`,
      [(await t.gql(`query($id: ID!) { token(id: $id) { prefix } }`, { id: token.id }, { token: alice.jwt })).data.token.prefix],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('a revoked token stops authenticating the moment revokeToken returns', async () => {
    const alice = await t.user();
    const { token, secret } = await mintToken(t, alice.jwt, { name: 'kill switch' });
    const before = await t.gql(`{ viewer { authMethod } }`, {}, { token: secret });
    expect(before.data.viewer.authMethod).toBe('API_TOKEN');
    await revokeToken(t, alice.jwt, { id: token.id });
    const after = await t.gql(`{ viewer { authMethod } }`, {}, { token: secret });
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0]?.message).toMatch(/revoked/);
  });
});

describe('revokeToken: errors', () => {
  it('a reason over 500 characters is a ValidationError and revokes nothing', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'verbose' });
    const result = await revokeToken(t, alice.jwt, { id: token.id, reason: 'x'.repeat(501) });
    expect(result.__typename).toBe('ValidationError');
    const after = await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: token.id }, { token: alice.jwt });
    expect(after.data.token.status).toBe('ACTIVE');
  });

  it('without credentials is UNAUTHENTICATED', async () => {
    const response = await t.gql(`mutation { revokeToken(input: { id: "${randomTokenId()}" }) { __typename } }`);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('revokeToken: security', () => {
  it("another user's token, a missing one and a malformed id are the same NotFoundError, and nothing is revoked", async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const { token } = await mintToken(t, alice.jwt, { name: 'not yours' });
    const answers = new Set<string>();
    for (const id of [token.id, randomTokenId(), 'x']) {
      answers.add(JSON.stringify(await revokeToken(t, bob.jwt, { id })));
    }
    expect([...answers]).toEqual([JSON.stringify({ __typename: 'NotFoundError', message: 'Token not found' })]);
    const after = await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: token.id }, { token: alice.jwt });
    expect(after.data.token.status).toBe('ACTIVE');
  });
});

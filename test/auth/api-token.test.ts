import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { createTestApp, mintToken, revokeToken, updateToken, type TestApp } from '../harness.js';
import { testClock } from '../support/test-clock.js';

const clock = testClock();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t?.close());

const DAY = 86_400_000;
const VIEWER = `{ viewer { email authMethod isAdmin permissions token { id name } } }`;
const LIST = `{ tokens { totalCount edges { node { name } } } }`;

describe('API token authentication', () => {
  it('authenticates as the token, with the token’s permissions', async () => {
    const alice = await t.user({ permissions: ['tools.*'] });
    const { token, secret } = await mintToken(t, alice.jwt, { name: 'script', permissions: ['tools.read'] });
    const response = await t.gql(VIEWER, {}, { token: secret });
    expect(response.data.viewer).toEqual({
      email: alice.email,
      authMethod: 'API_TOKEN',
      isAdmin: false,
      permissions: ['tools.read'],
      token: { id: token.id, name: 'script' },
    });
  });

  it('an empty list inherits the owner’s current permissions', async () => {
    const alice = await t.user({ permissions: ['tools.read'] });
    const { secret } = await mintToken(t, alice.jwt, { name: 'inherits', permissions: [] });
    expect((await t.gql(VIEWER, {}, { token: secret })).data.viewer.permissions).toEqual(['tools.read']);
    // The owner's latest session says more; the token follows.
    const wider = await t.user({ subject: alice.subject, email: alice.email, permissions: ['tools.read', 'files.read'] });
    await t.gql(VIEWER, {}, { token: wider.jwt });
    expect((await t.gql(VIEWER, {}, { token: secret })).data.viewer.permissions).toEqual(['files.read', 'tools.read']);
  });

  it('never holds more than its owner holds now', async () => {
    const alice = await t.user({ permissions: ['tools.*'] });
    const { secret } = await mintToken(t, alice.jwt, { name: 'bounded', permissions: ['tools.*'] });
    const narrower = await t.user({ subject: alice.subject, email: alice.email, permissions: ['tools.read'] });
    await t.gql(VIEWER, {}, { token: narrower.jwt });
    expect((await t.gql(VIEWER, {}, { token: secret })).data.viewer.permissions).toEqual(['tools.read']);
  });

  it('works from the auth_token cookie too', async () => {
    const alice = await t.user();
    const { secret } = await mintToken(t, alice.jwt, { name: 'cookie' });
    const response = await t.gql(VIEWER, {}, { headers: { cookie: `auth_token=${secret}` } });
    expect(response.data.viewer.authMethod).toBe('API_TOKEN');
  });
});

describe('API token refusals', () => {
  it('a wrong checksum is refused without touching the database', async () => {
    const { secret } = generateSecret('km');
    const forged = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    const { result, statements } = await t.countStatements(() => t.gql(VIEWER, {}, { token: forged }));
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.errors?.[0]?.message).toMatch(/checksum/);
    expect(statements).toEqual([]);
  });

  it('a well-formed but unknown token is refused', async () => {
    const response = await t.gql(VIEWER, {}, { token: generateSecret('km').secret });
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.message).toMatch(/Unknown API token/);
  });

  it('an expired token is refused', async () => {
    const alice = await t.user();
    const { secret } = await mintToken(t, alice.jwt, { name: 'short-lived', expiresInDays: 1 });
    await clock.at(clock.now() + DAY + 1, async () => {
      const response = await t.gql(VIEWER, {}, { token: secret });
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.message).toMatch(/expired/);
    });
  });

  it('a revoked token is refused', async () => {
    const alice = await t.user();
    const { token, secret } = await mintToken(t, alice.jwt, { name: 'revoked' });
    await revokeToken(t, alice.jwt, { id: token.id });
    expect((await t.gql(VIEWER, {}, { token: secret })).status).toBe(401);
  });
});

describe('token management with an API token', () => {
  it('an empty-list token may not manage tokens: FORBIDDEN', async () => {
    const alice = await t.user({ permissions: ['tools.*', 'tokens.*'] });
    const { token, secret } = await mintToken(t, alice.jwt, { name: 'resource only', permissions: [] });

    const list = await t.gql(LIST, {}, { token: secret });
    expect(list.status).toBe(403);
    expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(list.errors?.[0]?.message).toContain('tokens.read');

    const one = await t.gql(`query($id: ID!) { token(id: $id) { id } }`, { id: token.id }, { token: secret });
    expect(one.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    expect((await mintToken(t, secret, { name: 'child' })).__typename).toBe('ForbiddenError');
    expect((await updateToken(t, secret, { id: token.id, name: 'x' })).__typename).toBe('ForbiddenError');
    expect((await revokeToken(t, secret, { id: token.id })).__typename).toBe('ForbiddenError');
    // viewer is not token management.
    expect((await t.gql(VIEWER, {}, { token: secret })).data.viewer.authMethod).toBe('API_TOKEN');
  });

  it('each action needs its own permission', async () => {
    const alice = await t.user({ permissions: ['tokens.*'] });
    const { token, secret } = await mintToken(t, alice.jwt, { name: 'reader', permissions: ['tokens.read'] });
    expect((await t.gql(LIST, {}, { token: secret })).data.tokens.totalCount).toBe(1);
    expect((await mintToken(t, secret, { name: 'child' })).__typename).toBe('ForbiddenError');
    expect((await updateToken(t, secret, { id: token.id, name: 'x' })).__typename).toBe('ForbiddenError');
    expect((await revokeToken(t, secret, { id: token.id })).__typename).toBe('ForbiddenError');
  });

  it('tokens.* allows every action, within containment', async () => {
    const alice = await t.user({ permissions: ['tokens.*', 'tools.*'] });
    const { secret } = await mintToken(t, alice.jwt, { name: 'manager', permissions: ['tokens.*', 'tools.read'] });

    const child = await mintToken(t, secret, { name: 'child', permissions: ['tools.read'] });
    expect(child.__typename).toBe('MintTokenPayload');
    // The token holds tools.read only, although its owner holds tools.*.
    const wider = await mintToken(t, secret, { name: 'wider', permissions: ['tools.execute'] });
    expect(wider.__typename).toBe('ValidationError');
    expect(wider.message).toContain("'tools.execute'");
    // A child with an empty list holds exactly its parent's set, never the owner's wider one.
    const inherit = await mintToken(t, secret, { name: 'inherit' });
    expect(inherit.token.permissions).toEqual([]);
    const asChild = await t.gql(VIEWER, {}, { token: inherit.secret });
    expect(asChild.data.viewer.permissions.sort()).toEqual(['tokens.*', 'tools.read']);

    expect((await updateToken(t, secret, { id: child.token.id, description: 'by script' })).__typename).toBe('UpdateTokenPayload');
    expect((await revokeToken(t, secret, { id: child.token.id })).token.revocation.revokedBy).toBe(alice.email);
  });
});

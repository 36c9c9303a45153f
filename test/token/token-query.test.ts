import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, randomTokenId, type TestApp } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const TOKEN = `query One($id: ID!) { token(id: $id) { id name owner { email } } }`;
const NODE = `query Node($id: ID!) { node(id: $id) { __typename id ... on Token { name } } }`;

describe('token(id)', () => {
  it('returns one of your tokens', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'mine' });
    const response = await t.gql(TOKEN, { id: token.id }, { token: alice.jwt });
    expect(response.data.token).toEqual({ id: token.id, name: 'mine', owner: { email: alice.email } });
  });

  it("another user's token, a missing one and a malformed id all look the same: null, no errors", async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const { token } = await mintToken(t, alice.jwt, { name: 'private' });
    const answers = [];
    for (const id of [token.id, randomTokenId(), 'garbage', 'team_' + token.id.slice(4), '']) {
      const response = await t.gql(TOKEN, { id }, { token: bob.jwt });
      expect(response.status).toBe(200);
      answers.push(JSON.stringify(response.body));
    }
    expect(new Set(answers)).toEqual(new Set([JSON.stringify({ data: { token: null } })]));
  });

  it('without credentials is UNAUTHENTICATED, not null', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'x' });
    const response = await t.gql(TOKEN, { id: token.id });
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('node(id)', () => {
  it('resolves your token by its global id', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'via node' });
    const response = await t.gql(NODE, { id: token.id }, { token: alice.jwt });
    expect(response.data.node).toEqual({ __typename: 'Token', id: token.id, name: 'via node' });
  });

  it("is null for another user's token exactly as for a random id", async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const { token } = await mintToken(t, alice.jwt, { name: 'hidden' });
    const theirs = await t.gql(NODE, { id: token.id }, { token: bob.jwt });
    const random = await t.gql(NODE, { id: randomTokenId() }, { token: bob.jwt });
    const garbage = await t.gql(NODE, { id: 'nonsense' }, { token: bob.jwt });
    expect(theirs.body).toEqual({ data: { node: null } });
    expect(random.body).toEqual(theirs.body);
    expect(garbage.body).toEqual(theirs.body);
  });

  it('needs credentials', async () => {
    const response = await t.gql(NODE, { id: randomTokenId() });
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

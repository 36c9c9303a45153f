import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, revokeToken, type TestApp } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_MINTS_PER_MINUTE: '1000' } });
});
afterAll(async () => t?.close());

const LIST = /* GraphQL */ `
  query List($first: Int, $after: String, $includeInactive: Boolean, $search: String, $tag: String) {
    tokens(first: $first, after: $after, includeInactive: $includeInactive, search: $search, tag: $tag) {
      totalCount
      edges { cursor node { id name prefix status tags } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

async function list(jwt: string, variables: Record<string, unknown> = {}) {
  return t.gql(LIST, variables, { token: jwt });
}

async function seed(jwt: string, count: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  const minted = [];
  for (let i = 0; i < count; i += 1) minted.push(await mintToken(t, jwt, { name: `token ${i}`, ...extra(i) }));
  return minted;
}

describe('tokens: happy', () => {
  it("lists the viewer's tokens newest first, without secrets", async () => {
    const alice = await t.user();
    const minted = await seed(alice.jwt, 3);
    const response = await list(alice.jwt);
    expect(response.data.tokens.totalCount).toBe(3);
    expect(response.data.tokens.edges.map((e: any) => e.node.name)).toEqual(['token 2', 'token 1', 'token 0']);
    expect(JSON.stringify(response.body)).not.toContain(minted[0].secret);
  });

  it('pages with first/after until the end, with no gaps or repeats', async () => {
    const alice = await t.user();
    await seed(alice.jwt, 7);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const response = await list(alice.jwt, { first: 3, after });
      const connection = response.data.tokens;
      expect(connection.totalCount).toBe(7);
      seen.push(...connection.edges.map((e: any) => e.node.name));
      pages += 1;
      expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['token 6', 'token 5', 'token 4', 'token 3', 'token 2', 'token 1', 'token 0']);
  });

  it('defaults to 50 per page', async () => {
    const alice = await t.user();
    await seed(alice.jwt, 51);
    const response = await list(alice.jwt);
    expect(response.data.tokens.edges).toHaveLength(50);
    expect(response.data.tokens.pageInfo.hasNextPage).toBe(true);
    expect(response.data.tokens.totalCount).toBe(51);
  });

  it('hides revoked tokens unless includeInactive', async () => {
    const alice = await t.user();
    const [a] = await seed(alice.jwt, 2);
    await revokeToken(t, alice.jwt, { id: a.token.id });
    const active = await list(alice.jwt);
    expect(active.data.tokens.edges.map((e: any) => e.node.name)).toEqual(['token 1']);
    const all = await list(alice.jwt, { includeInactive: true });
    expect(all.data.tokens.totalCount).toBe(2);
    expect(all.data.tokens.edges.map((e: any) => e.node.status)).toEqual(['ACTIVE', 'REVOKED']);
  });

  it('searches by name (case-insensitive, substring) or display prefix', async () => {
    const alice = await t.user();
    await mintToken(t, alice.jwt, { name: 'GitHub Actions' });
    const other = await mintToken(t, alice.jwt, { name: 'laptop' });
    await mintToken(t, alice.jwt, { name: '100%_sure' });
    expect((await list(alice.jwt, { search: 'actions' })).data.tokens.edges.map((e: any) => e.node.name)).toEqual([
      'GitHub Actions',
    ]);
    expect(
      (await list(alice.jwt, { search: other.token.prefix })).data.tokens.edges.map((e: any) => e.node.name),
    ).toEqual(['laptop']);
    // LIKE wildcards in the search are literal.
    expect((await list(alice.jwt, { search: '%' })).data.tokens.edges.map((e: any) => e.node.name)).toEqual(['100%_sure']);
    expect((await list(alice.jwt, { search: '_' })).data.tokens.totalCount).toBe(1);
  });

  it('filters by tag', async () => {
    const alice = await t.user();
    await seed(alice.jwt, 4, (i) => ({ tags: i % 2 === 0 ? ['ci', 'prod'] : ['laptop'] }));
    const response = await list(alice.jwt, { tag: 'ci' });
    expect(response.data.tokens.totalCount).toBe(2);
    expect(response.data.tokens.edges.every((e: any) => e.node.tags.includes('ci'))).toBe(true);
  });
});

describe('tokens: errors', () => {
  it.each([0, -1, 101])('first=%i is BAD_USER_INPUT', async (first) => {
    const alice = await t.user();
    const response = await list(alice.jwt, { first });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toMatch(/first/);
  });

  it('a cursor that is not from this list is BAD_USER_INPUT', async () => {
    const alice = await t.user();
    const response = await list(alice.jwt, { after: 'not-a-cursor' });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('without credentials is UNAUTHENTICATED with HTTP 401', async () => {
    const response = await t.gql(LIST);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('tokens: security', () => {
  it("never lists another user's tokens", async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    await seed(alice.jwt, 2);
    const response = await list(bob.jwt, { includeInactive: true });
    expect(response.data.tokens.totalCount).toBe(0);
    expect(response.data.tokens.edges).toEqual([]);
  });
});

describe('tokens: statements per page', () => {
  const PAGE = /* GraphQL */ `
    query Page($first: Int) {
      tokens(first: $first, includeInactive: true) {
        totalCount
        edges { node { id name status revocation { revokedAt revokedBy reason } owner { id email } team { id name } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  `;

  it('a page of 100 costs the same statements as a page of 5, at most 6 with authentication and totalCount', async () => {
    const alice = await t.user();
    const minted = await seed(alice.jwt, 100);
    // A third of them revoked, so the revocation loader has work to do.
    for (const m of minted.filter((_, i) => i % 3 === 0)) await revokeToken(t, alice.jwt, { id: m.token.id });

    const count = async (first: number) => {
      const { result, statements } = await t.countStatements(() => t.gql(PAGE, { first }, { token: alice.jwt }));
      expect(result.errors).toBeUndefined();
      expect(result.data.tokens.edges).toHaveLength(first);
      return statements;
    };
    const five = await count(5);
    const hundred = await count(100);
    expect(hundred.length).toBe(five.length);
    expect(hundred.length).toBeLessThanOrEqual(6);
    expect(hundred.some((sql) => /from "revocations"/.test(sql))).toBe(true);
  });
});

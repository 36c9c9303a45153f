import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getIntrospectionQuery, Kind, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTeam, mintToken, type GraphQLResponse, type TestApp, type TestUser } from '../harness.js';
import { PROJECT_ROOT } from '../service/service-process.js';

/**
 * Operations built to exhaust the server (aliases, nesting, size, directives, cost) are refused
 * before execution with a code naming the limit, fast, and without a resolver running; every
 * operation the README shows still runs.
 */

let t: TestApp;
let alice: TestUser;
let teamId: string;

beforeAll(async () => {
  t = await createTestApp();
  alice = await t.user({ permissions: ['tools.*'] });
  teamId = (await createTeam(t, alice, 'Hostile')).id;
  await mintToken(t, alice.jwt, { name: 'one', permissions: ['tools.read'] });
  await mintToken(t, alice.jwt, { name: 'team one', teamId, permissions: ['tools.read'] });
});

afterAll(async () => {
  await t?.close();
});

const aliases = (n: number, field: (i: number) => string) => Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join('\n');
const USAGE_PAGE = 'tokens(first: 100) { edges { node { usage(days: 30) { totalRequests } } } }';
const MINT = (i: number) => `mintToken(input: { name: "alias ${i}", expiresInDays: 1 }) { __typename }`;

/** Team.tokens nested `levels` deep under the viewer's teams. */
function nestedTeams(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i += 1) inner = `tokens(first: 100) { edges { node { team { ${inner} } } } }`;
  return `{ teams { ${inner} } }`;
}

async function refused(query: string, code: string, variables: Record<string, unknown> = {}) {
  const tokensBefore = await countTokens();
  const started = performance.now();
  const { result: response, statements } = await t.countStatements(() => t.gql(query, variables, { token: alice.jwt }));
  const ms = performance.now() - started;
  expect(response.errors?.map((e) => e.extensions?.code), JSON.stringify(response.body).slice(0, 500)).toContain(code);
  expect(response.data).toBeUndefined();
  // Refused before execution: no resolver ran, so nothing but (at most) authenticating the caller touched the database.
  expect(statements.filter((sql) => !/from "users"|"users"/.test(sql))).toEqual([]);
  expect(await countTokens()).toBe(tokensBefore);
  return { response, ms };
}

async function countTokens(): Promise<number> {
  const [row] = await t.orm.em.getConnection().execute<{ n: number }[]>('select count(*)::int as n from tokens');
  return row!.n;
}

describe('operation limits: refused with the code of the limit', () => {
  it('1,000 aliases of a usage page: QUERY_TOO_LARGE, while parsing', async () => {
    const { ms } = await refused(`{ ${aliases(1000, () => USAGE_PAGE)} }`, 'QUERY_TOO_LARGE');
    expect(ms).toBeLessThan(250);
  });

  it('16 aliases (GRAPHQL_MAX_ALIASES is 15): TOO_MANY_ALIASES', async () => {
    const { response } = await refused(`{ ${aliases(16, () => 'viewer { id }')} }`, 'TOO_MANY_ALIASES');
    expect(response.errors?.[0]?.extensions).toMatchObject({ limit: 15, found: 16 });
  });

  it('15 aliases of a usage page of 100: QUERY_TOO_COMPLEX', async () => {
    const { response } = await refused(`{ ${aliases(15, () => USAGE_PAGE)} }`, 'QUERY_TOO_COMPLEX');
    expect(response.errors?.[0]?.message).toMatch(/costs \d+, the limit is 8000/);
  });

  it('Team.tokens nested four deep: QUERY_TOO_DEEP', async () => {
    await refused(nestedTeams(4), 'QUERY_TOO_DEEP');
  });

  it('Team.tokens nested twice (depth within the limit): QUERY_TOO_COMPLEX, since 10 teams x 100 x 100 tokens', async () => {
    await refused(nestedTeams(2), 'QUERY_TOO_COMPLEX');
  });

  it('a chain of parents twenty deep: QUERY_TOO_DEEP', async () => {
    let inner = 'id';
    for (let i = 0; i < 20; i += 1) inner = `parent { ${inner} }`;
    await refused(`{ tokens(first: 1) { edges { node { ${inner} } } } }`, 'QUERY_TOO_DEEP');
  });

  it('1,000 mintToken aliases mint nothing: QUERY_TOO_LARGE', async () => {
    await refused(`mutation { ${aliases(1000, MINT)} }`, 'QUERY_TOO_LARGE');
  });

  it('16 mintToken aliases mint nothing: TOO_MANY_ALIASES', async () => {
    await refused(`mutation { ${aliases(16, MINT)} }`, 'TOO_MANY_ALIASES');
  });

  it('21 directives: TOO_MANY_DIRECTIVES', async () => {
    await refused(`{ viewer { id ${Array.from({ length: 21 }, () => '@include(if: true)').join(' ')} } }`, 'TOO_MANY_DIRECTIVES');
  });

  it('a fragment spread into itself 2^30 times is costed, not expanded: QUERY_TOO_COMPLEX in milliseconds', async () => {
    const fragments = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join('\n');
    const { ms } = await refused(`query { ...F0 }\n${fragments}\nfragment F30 on Query { tokens(first: 100) { totalCount } }`, 'QUERY_TOO_COMPLEX');
    expect(ms).toBeLessThan(250);
  });

  it('the cost follows the variables: first: $n costs what $n says', async () => {
    const query = `query($n: Int) { ${aliases(10, () => `tokens(first: $n) { edges { node { usage(days: 30) { totalRequests } } } }`)} }`;
    expect((await t.gql(query, { n: 5 }, { token: alice.jwt })).errors).toBeUndefined();
    await refused(query, 'QUERY_TOO_COMPLEX', { n: 100 });
  });

  it('the cost is of the operation that runs, not the first one in the document', async () => {
    const document = `query Cheap { viewer { id } }\nquery Dear { ${aliases(15, () => USAGE_PAGE)} }`;
    const response = await t.gql(document, {}, { token: alice.jwt, headers: {} });
    // Without operationName a two-operation document is refused by graphql-js itself.
    expect(response.errors?.[0]?.message).toMatch(/operation/i);
    const named = await t.app.yoga.fetch('http://keymint.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.jwt}` },
      body: JSON.stringify({ query: document, operationName: 'Dear' }),
    });
    const body = await named.json();
    expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('an argument that would fail only its own field cannot hide the cost of the others: refused before execution', async () => {
    // A null for a required argument fails that field alone at execution, and its cost cannot be
    // computed: the operation is refused whole, before any of its other fields runs.
    const required = `mutation($input: ReportLeakedTokensInput = { tokens: [] }) {
      ${aliases(14, () => 'revokeAllMyTokens(input: {}) { __typename }')}
      reportLeakedTokens(input: $input) { __typename }
    }`;
    await refused(required, 'BAD_USER_INPUT', { input: null });
  });

  it('limits are configuration: GRAPHQL_MAX_ALIASES=2 refuses three', async () => {
    const strict = await createTestApp({ env: { GRAPHQL_MAX_ALIASES: '2', GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_COST: '50', GRAPHQL_MAX_TOKENS: '100' } });
    try {
      const user = await strict.user();
      const codes = async (query: string) => (await strict.gql(query, {}, { token: user.jwt })).errors?.map((e) => e.extensions?.code);
      expect(await codes(`{ ${aliases(3, () => 'viewer { id }')} }`)).toContain('TOO_MANY_ALIASES');
      expect(await codes('{ tokens { edges { node { owner { id } } } } }')).toContain('QUERY_TOO_DEEP');
      expect(await codes('{ tokens(first: 100) { edges { cursor } } }')).toContain('QUERY_TOO_COMPLEX');
      expect(await codes(`{ viewer { ${'id '.repeat(100)} } }`)).toContain('QUERY_TOO_LARGE');
      expect((await strict.gql('{ viewer { id } }', {}, { token: user.jwt })).errors).toBeUndefined();
    } finally {
      await strict.close();
    }
  });
});

describe('operation limits: what they admit', () => {
  it("GraphiQL's full introspection query (and its size) passes", async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    const response = await t.gql(query, {}, { token: alice.jwt });
    expect(response.errors).toBeUndefined();
    expect(response.data.__schema.queryType.name).toBe('Query');
  });

  it('a page of 50 tokens with their full usage figures (a dashboard) passes', async () => {
    const response = await t.gql(
      `{ tokens(first: 50) { totalCount edges { node { id name usage(days: 30) { totalRequests successRate averageResponseTimeMs
         topEndpoints(limit: 3) { endpoint count } blockReasons { reason count } daily { date totalRequests blockedRequests } } } } } }`,
      {},
      { token: alice.jwt },
    );
    expect(response.errors).toBeUndefined();
  });

  it('every GraphQL operation in the README passes the limits', async () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);
    const operations = blocks.flatMap((block) =>
      parse(block).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).map((d) => print(d)),
    );
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const operation of operations) {
      const response: GraphQLResponse = await t.gql(operation, {}, { token: alice.jwt });
      const codes = (response.errors ?? []).map((e) => e.extensions?.code);
      expect(codes, `${operation}\n${JSON.stringify(response.body)}`).not.toContainEqual(
        expect.stringMatching(/QUERY_TOO|TOO_MANY|GRAPHQL_VALIDATION_FAILED|GRAPHQL_PARSE_FAILED/),
      );
    }
  });
});

describe('production exposes less', () => {
  const production = { NODE_ENV: 'production', KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

  it('introspection, "Did you mean" and GraphiQL are off', async () => {
    const prod = await createTestApp({ env: production });
    try {
      const user = await prod.user();
      const introspection = await prod.gql('{ __schema { queryType { name } } }', {}, { token: user.jwt });
      expect(introspection.errors?.[0]?.message).toMatch(/introspection/i);
      const typo = await prod.gql('{ viewr { id } }', {}, { token: user.jwt });
      expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
      // Nor in enum values, nor in variables checked at execution.
      const enumTypo = await prod.gql('{ auditEvents(filter: { action: TOKEN_MINTD }) { totalCount } }', {}, { token: user.jwt });
      expect(enumTypo.errors?.length).toBeGreaterThan(0);
      const fieldTypo = await prod.gql('mutation($input: MintTokenInput!) { mintToken(input: $input) { __typename } }', { input: { nme: 'x' } }, { token: user.jwt });
      expect(fieldTypo.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      for (const response of [enumTypo, fieldTypo]) expect(JSON.stringify(response.body)).not.toMatch(/Did you mean/);
      const page = await prod.app.yoga.fetch('http://keymint.test/graphql', { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type') ?? '').not.toContain('text/html');
      // Queries still run.
      expect((await prod.gql('{ viewer { id } }', {}, { token: user.jwt })).errors).toBeUndefined();
    } finally {
      await prod.close();
    }
  });

  it('GRAPHQL_INTROSPECTION=true and GRAPHIQL=true turn them back on', async () => {
    const prod = await createTestApp({ env: { ...production, GRAPHQL_INTROSPECTION: 'true', GRAPHIQL: 'true' } });
    try {
      const user = await prod.user();
      expect((await prod.gql('{ __schema { queryType { name } } }', {}, { token: user.jwt })).errors).toBeUndefined();
      const page = await prod.app.yoga.fetch('http://keymint.test/graphql', { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type')).toContain('text/html');
    } finally {
      await prod.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTestApp, mintToken, revokeToken, type TestApp } from '../harness.js';

/**
 * Per-caller budgets on management: a loop or a stolen credential cannot mint or change without
 * bound. Over budget, the mutation answers RateLimitedError (HTTP 200, a member of its result
 * union, with retryAfterSeconds) and changes nothing.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_MINTS_PER_MINUTE: '3', RATE_LIMIT_CHANGES_PER_MINUTE: '4' } });
});
afterAll(async () => t?.close());

const MINT = `mutation($input: MintTokenInput!) { mintToken(input: $input) {
  __typename ... on RateLimitedError { message retryAfterSeconds } ... on MintTokenPayload { secret token { id } }
} }`;

async function mint(credential: string, name: string) {
  const response = await t.gql(MINT, { input: { name, expiresInDays: 1, permissions: ['tools.read'] } }, { token: credential });
  expect(response.status).toBe(200);
  return response.data.mintToken;
}

async function tokenCount(): Promise<number> {
  const [row] = await t.orm.em.getConnection().execute<{ n: number }[]>('select count(*)::int as n from tokens');
  return row!.n;
}

describe('per-caller rate limits on management', () => {
  it('the 4th mint in a minute is a RateLimitedError, and mints nothing', async () => {
    const alice = await t.user({ permissions: ['tools.*', 'tokens.*'] });
    for (const name of ['a', 'b', 'c']) expect((await mint(alice.jwt, name)).__typename).toBe('MintTokenPayload');
    const before = await tokenCount();
    const limited = await mint(alice.jwt, 'd');
    expect(limited.__typename).toBe('RateLimitedError');
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(limited.message).toMatch(/at most 3 a minute/);
    expect(await tokenCount()).toBe(before);
  });

  it('rotations spend the same budget as mints: both hand out new secrets', async () => {
    const bob = await t.user({ permissions: ['tools.*'] });
    const minted = await mint(bob.jwt, 'rotating');
    const rotate = () =>
      t.gql(`mutation($id: ID!) { rotateToken(input: { id: $id }) { __typename } }`, { id: minted.token.id }, { token: bob.jwt });
    expect((await rotate()).data.rotateToken.__typename).toBe('RotateTokenPayload');
    expect((await rotate()).data.rotateToken.__typename).toBe('RotateTokenPayload');
    expect((await rotate()).data.rotateToken.__typename).toBe('RateLimitedError');
  });

  it("an API token's mints also spend its owner's budget, so minting tokens cannot multiply it", async () => {
    const carol = await t.user({ permissions: ['tools.*', 'tokens.*'] });
    const parent = await mintToken(t, carol.jwt, { name: 'parent', permissions: ['tokens.*', 'tools.read'], expiresInDays: 30 });
    expect((await mint(parent.secret, 'c1')).__typename).toBe('MintTokenPayload');
    expect((await mint(parent.secret, 'c2')).__typename).toBe('MintTokenPayload');
    // Carol's third: the parent, then two through the token.
    expect((await mint(parent.secret, 'c3')).__typename).toBe('RateLimitedError');
    expect((await mint(carol.jwt, 'own')).__typename).toBe('RateLimitedError');
  });

  it("an API token's changes have a budget of their own, apart from its owner's", async () => {
    const erin = await t.user({ permissions: ['tools.*', 'tokens.*'] });
    const manager = await mintToken(t, erin.jwt, { name: 'manager', permissions: ['tokens.*'], expiresInDays: 30 });
    const targets = [await mint(erin.jwt, 't1'), await mint(erin.jwt, 't2')];
    const rename = (credential: string, id: string, name: string) =>
      t.gql(`mutation($id: ID!, $name: String!) { updateToken(input: { id: $id, name: $name }) { __typename } }`, { id, name }, { token: credential });
    for (let i = 0; i < 4; i += 1) expect((await rename(manager.secret, manager.token.id, `m${i}`)).data.updateToken.__typename).toBe('UpdateTokenPayload');
    expect((await rename(manager.secret, manager.token.id, 'm4')).data.updateToken.__typename).toBe('RateLimitedError');
    expect((await rename(erin.jwt, targets[0].token.id, 'still mine')).data.updateToken.__typename).toBe('UpdateTokenPayload');
  });

  it('changes (revocations, team changes) have their budget, and every mutation union names RateLimitedError', async () => {
    const dave = await t.user({ permissions: ['tools.*'] });
    const tokens = [await mint(dave.jwt, 'r1'), await mint(dave.jwt, 'r2')];
    const team = await createTeam(t, dave, 'Budget'); // one change
    expect((await revokeToken(t, dave.jwt, { id: tokens[0].token.id })).__typename).toBe('RevokeTokenPayload');
    expect((await revokeToken(t, dave.jwt, { id: tokens[1].token.id })).__typename).toBe('RevokeTokenPayload');
    const renamed = await t.gql(
      `mutation($id: ID!) { deleteTeam(input: { teamId: $id }) { __typename } }`,
      { id: team.id },
      { token: dave.jwt },
    );
    expect(renamed.data.deleteTeam.__typename).toBe('DeleteTeamPayload');
    const limited = await t.gql(`mutation { revokeAllMyTokens(input: {}) { __typename ... on RateLimitedError { retryAfterSeconds } } }`, {}, { token: dave.jwt });
    expect(limited.data.revokeAllMyTokens.__typename).toBe('RateLimitedError');

    const schema = await t.gql(`{ __schema { mutationType { fields { name type { ofType { name possibleTypes { name } } } } } } }`);
    const unions = schema.data.__schema.mutationType.fields.filter((f: any) => f.type.ofType?.possibleTypes);
    for (const name of ['mintToken', 'updateToken', 'rotateToken', 'revokeToken', 'revokeAllMyTokens', 'adminRevokeToken', 'adminRevokeUserTokens', 'createTeam', 'addTeamMember', 'updateTeamMemberRole', 'removeTeamMember', 'deleteTeam', 'reportLeakedTokens']) {
      const field = unions.find((f: any) => f.name === name);
      expect(field?.type.ofType.possibleTypes.map((p: any) => p.name), name).toContain('RateLimitedError');
    }
  });
});

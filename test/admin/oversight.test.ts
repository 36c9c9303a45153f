import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTestApp, mintToken, REVOKE, teamMutation, type TestApp } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const ADMIN_TOKENS = `query($first: Int, $after: String, $userEmail: String, $teamId: ID, $includeInactive: Boolean, $search: String) {
  adminTokens(first: $first, after: $after, userEmail: $userEmail, teamId: $teamId, includeInactive: $includeInactive, search: $search) {
    totalCount edges { node { id name owner { email } team { id } status } } pageInfo { hasNextPage endCursor }
  }
}`;
const ADMIN_REVOKE = REVOKE.replace('mutation Revoke($input: RevokeTokenInput!)', 'mutation AdminRevoke($input: AdminRevokeTokenInput!)').replace(
  'revokeToken(input: $input)',
  'adminRevokeToken(input: $input)',
);

describe('adminTokens', () => {
  it('lists every user’s tokens, with real pagination and totalCount, filtered by user email', async () => {
    const admin = await t.user({ admin: true });
    const email = `offboard-${randomUUID()}@example.com`;
    const bob = await t.user({ email });
    for (let i = 0; i < 5; i += 1) await mintToken(t, bob.jwt, { name: `bob ${i}` });
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await t.gql(ADMIN_TOKENS, { first: 2, after, userEmail: email.toUpperCase() }, { token: admin.jwt })).data.adminTokens;
      expect(page.totalCount).toBe(5);
      seen.push(...page.edges.map((e: any) => e.node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['bob 4', 'bob 3', 'bob 2', 'bob 1', 'bob 0']);
  });

  it('filters by team, search and includeInactive', async () => {
    const [admin, alice] = [await t.user({ admin: true }), await t.user()];
    const team = await createTeam(t, alice, `Audit ${randomUUID().slice(0, 8)}`);
    const inTeam = await mintToken(t, alice.jwt, { name: `needle ${randomUUID()}`, teamId: team.id });
    await mintToken(t, alice.jwt, { name: 'personal' });
    const byTeam = (await t.gql(ADMIN_TOKENS, { teamId: team.id }, { token: admin.jwt })).data.adminTokens;
    expect(byTeam.edges.map((e: any) => e.node.id)).toEqual([inTeam.token.id]);
    const bySearch = (await t.gql(ADMIN_TOKENS, { search: inTeam.token.name.slice(7) }, { token: admin.jwt })).data.adminTokens;
    expect(bySearch.edges.map((e: any) => e.node.id)).toEqual([inTeam.token.id]);
    await t.gql(REVOKE, { input: { id: inTeam.token.id } }, { token: alice.jwt });
    expect((await t.gql(ADMIN_TOKENS, { teamId: team.id }, { token: admin.jwt })).data.adminTokens.totalCount).toBe(0);
    expect((await t.gql(ADMIN_TOKENS, { teamId: team.id, includeInactive: true }, { token: admin.jwt })).data.adminTokens.totalCount).toBe(1);
  });

  it('is FORBIDDEN to non-admins, including an admin’s API token', async () => {
    const [user, admin] = [await t.user({ permissions: ['tokens.*'] }), await t.user({ admin: true })];
    const { secret } = await mintToken(t, admin.jwt, { name: 'admin script', permissions: ['*'] });
    for (const credential of [user.jwt, secret]) {
      const response = await t.gql(ADMIN_TOKENS, {}, { token: credential });
      expect(response.status).toBe(403);
      expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});

describe('adminRevokeToken', () => {
  it('revokes any token, by default with the admin named in the reason', async () => {
    const [admin, bob] = [await t.user({ admin: true }), await t.user()];
    const { token, secret } = await mintToken(t, bob.jwt, { name: 'suspicious' });
    const result = (await t.gql(ADMIN_REVOKE, { input: { id: token.id } }, { token: admin.jwt })).data.adminRevokeToken;
    expect(result.__typename).toBe('RevokeTokenPayload');
    expect(result.token.revocation).toMatchObject({ revokedBy: admin.email, reason: `Revoked by admin ${admin.email}` });
    expect((await t.gql(`{ viewer { id } }`, {}, { token: secret })).status).toBe(401);
  });

  it('NotFoundError for a missing token; ForbiddenError for a non-admin, and nothing is revoked', async () => {
    const [admin, bob] = [await t.user({ admin: true }), await t.user()];
    const { token } = await mintToken(t, bob.jwt, { name: 'safe' });
    expect((await t.gql(ADMIN_REVOKE, { input: { id: `tok_${randomUUID()}` } }, { token: admin.jwt })).data.adminRevokeToken.__typename).toBe(
      'NotFoundError',
    );
    expect((await t.gql(ADMIN_REVOKE, { input: { id: token.id } }, { token: bob.jwt })).data.adminRevokeToken.__typename).toBe('ForbiddenError');
    const state = await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: token.id }, { token: bob.jwt });
    expect(state.data.token.status).toBe('ACTIVE');
  });
});

describe('adminRevokeUserTokens and revokeAllMyTokens', () => {
  const OFFBOARD = `mutation($input: AdminRevokeUserTokensInput!) { adminRevokeUserTokens(input: $input) {
    __typename ... on AdminRevokeUserTokensPayload { revokedCount userEmail } ... on Error { message } } }`;
  const PANIC = `mutation($input: RevokeAllMyTokensInput!) { revokeAllMyTokens(input: $input) {
    __typename ... on RevokeAllMyTokensPayload { revokedCount } ... on Error { message } } }`;

  it("offboarding revokes every token of the user, personal and team, and counts them", async () => {
    const [admin, bob, carol] = [await t.user({ admin: true }), await t.user(), await t.user()];
    const team = await createTeam(t, carol, `Off ${randomUUID().slice(0, 8)}`, [{ user: bob }]);
    await mintToken(t, bob.jwt, { name: 'one' });
    await mintToken(t, bob.jwt, { name: 'two', teamId: team.id });
    const carols = await mintToken(t, carol.jwt, { name: 'carol' });
    const result = (await t.gql(OFFBOARD, { input: { userEmail: bob.email, reason: 'Left the company' } }, { token: admin.jwt })).data
      .adminRevokeUserTokens;
    expect(result).toEqual({ __typename: 'AdminRevokeUserTokensPayload', revokedCount: 2, userEmail: bob.email });
    expect((await t.gql(`{ tokens { totalCount } }`, {}, { token: bob.jwt })).data.tokens.totalCount).toBe(0);
    const state = await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: carols.token.id }, { token: carol.jwt });
    expect(state.data.token.status).toBe('ACTIVE');
    const unknown = (await t.gql(OFFBOARD, { input: { userEmail: 'nobody@example.com' } }, { token: admin.jwt })).data.adminRevokeUserTokens;
    expect(unknown.__typename).toBe('NotFoundError');
    expect((await t.gql(OFFBOARD, { input: { userEmail: bob.email } }, { token: carol.jwt })).data.adminRevokeUserTokens.__typename).toBe(
      'ForbiddenError',
    );
  });

  it("the panic button revokes all of the viewer's tokens and nobody else's", async () => {
    const [alice, bob] = [await t.user({ permissions: ['tokens.*'] }), await t.user()];
    for (const name of ['a', 'b', 'c']) await mintToken(t, alice.jwt, { name });
    const bobs = await mintToken(t, bob.jwt, { name: 'bob' });
    const result = (await t.gql(PANIC, { input: { reason: 'Laptop stolen' } }, { token: alice.jwt })).data.revokeAllMyTokens;
    expect(result).toEqual({ __typename: 'RevokeAllMyTokensPayload', revokedCount: 3 });
    const revoked = await t.gql(`{ tokens(includeInactive: true) { edges { node { status revocation { reason } } } } }`, {}, { token: alice.jwt });
    expect(new Set(revoked.data.tokens.edges.map((e: any) => JSON.stringify(e.node)))).toEqual(
      new Set([JSON.stringify({ status: 'REVOKED', revocation: { reason: 'Laptop stolen' } })]),
    );
    expect((await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: bobs.token.id }, { token: bob.jwt })).data.token.status).toBe(
      'ACTIVE',
    );
  });

  it('from an API token, the panic button takes only what that token manages', async () => {
    const alice = await t.user({ permissions: ['tokens.*'] });
    const manager = await mintToken(t, alice.jwt, { name: 'manager', permissions: ['tokens.*'], expiresInDays: 60 });
    await mintToken(t, manager.secret, { name: 'child' });
    const other = await mintToken(t, alice.jwt, { name: 'other' });
    const result = (await t.gql(PANIC, { input: {} }, { token: manager.secret })).data.revokeAllMyTokens;
    expect(result.revokedCount).toBe(2);
    expect((await t.gql(`query($id: ID!) { token(id: $id) { status } }`, { id: other.token.id }, { token: alice.jwt })).data.token.status).toBe(
      'ACTIVE',
    );
  });
});

describe('lists stay flat', () => {
  it('team members, team tokens and admin lists cost the same statements for pages of 5 and 100', async () => {
    const admin = await t.user({ admin: true });
    // Signed in once already, so that no first-sight insert is counted.
    await t.gql(`{ viewer { id } }`, {}, { token: admin.jwt });
    const owner = await t.user();
    const members = await Promise.all(Array.from({ length: 100 }, () => t.user()));
    const team = await createTeam(t, owner, `Flat ${randomUUID().slice(0, 8)}`);
    for (const member of members) {
      await t.gql(`{ viewer { id } }`, {}, { token: member.jwt });
      await teamMutation(t, owner.jwt, 'addTeamMember', { teamId: team.id, email: member.email });
    }
    for (const member of members) await mintToken(t, member.jwt, { name: 'ci', teamId: team.id });
    const TEAM_PAGE = `query($id: ID!, $first: Int) { team(id: $id) {
      members { user { id email } role }
      tokens(first: $first) { totalCount edges { node { name owner { email } team { name } revocation { reason } } } }
    } }`;
    const ADMIN_PAGE = `query($first: Int, $teamId: ID) { adminTokens(first: $first, teamId: $teamId) {
      totalCount edges { node { name status owner { email } team { name } revocation { reason } } } } }`;
    const count = async (query: string, variables: Record<string, unknown>, jwt: string) => {
      const { result, statements } = await t.countStatements(() => t.gql(query, variables, { token: jwt }));
      expect(result.errors).toBeUndefined();
      return statements.length;
    };
    // Bounded whatever the page size. Not "exactly equal": members' users and tokens' owners share
    // one batch when their lists arrive in the same tick, and on a server with real latency they
    // sometimes arrive one tick apart, a statement more for either page size.
    const bounds = { team: 8, admin: 7 };
    for (const first of [5, 100]) {
      expect(await count(TEAM_PAGE, { id: team.id, first }, owner.jwt), `team page of ${first}`).toBeLessThanOrEqual(bounds.team);
      expect(await count(ADMIN_PAGE, { first, teamId: team.id }, admin.jwt), `admin page of ${first}`).toBeLessThanOrEqual(bounds.admin);
    }
  });
});

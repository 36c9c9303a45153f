import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.js';
import { createTeam, createTestApp, mintToken, revokeToken, teamMutation, updateToken, userId, type TestApp, type TestUser } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const AUDIT = `query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { node { id action at actor { userId email authMethod tokenId label } target { type id } tokenId teamId clientIp userAgent changes } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function events(jwt: string, filter: Record<string, unknown> = {}, first = 100) {
  const response = await t.gql(AUDIT, { first, filter }, { token: jwt });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.auditEvents.edges.map((e: any) => e.node);
}

const admin = async () => {
  const user = await t.user({ admin: true });
  return user;
};

/**
 * Every mutation, and how to run it so that it changes something. A management mutation must
 * leave an audit event; the few that are uses, not management, are listed as such. A mutation
 * added to the schema without being listed here fails the first test.
 */
type Run = (fixture: Fixture) => Promise<unknown>;
interface Fixture {
  owner: TestUser;
  member: TestUser;
  admin: TestUser;
  teamId: string;
  tokenId: string;
  tokenSecret: string;
}

const MANAGEMENT: Record<string, { action: string; run: Run }> = {
  mintToken: { action: 'TOKEN_MINTED', run: (f) => mintToken(t, f.owner.jwt, { name: `m ${randomUUID()}` }) },
  updateToken: { action: 'TOKEN_UPDATED', run: (f) => updateToken(t, f.owner.jwt, { id: f.tokenId, description: 'changed' }) },
  rotateToken: {
    action: 'TOKEN_ROTATED',
    run: (f) => t.gql(`mutation($id: ID!) { rotateToken(input: { id: $id }) { __typename } }`, { id: f.tokenId }, { token: f.owner.jwt }),
  },
  revokeToken: { action: 'TOKEN_REVOKED', run: (f) => revokeToken(t, f.owner.jwt, { id: f.tokenId }) },
  adminRevokeToken: {
    action: 'TOKEN_REVOKED',
    run: (f) =>
      t.gql(`mutation($id: ID!) { adminRevokeToken(input: { id: $id }) { __typename } }`, { id: f.tokenId }, { token: f.admin.jwt }),
  },
  adminRevokeUserTokens: {
    action: 'TOKEN_REVOKED',
    run: (f) =>
      t.gql(`mutation($e: String!) { adminRevokeUserTokens(input: { userEmail: $e }) { __typename } }`, { e: f.owner.email }, { token: f.admin.jwt }),
  },
  revokeAllMyTokens: {
    action: 'TOKEN_REVOKED',
    run: (f) => t.gql(`mutation { revokeAllMyTokens(input: {}) { __typename } }`, {}, { token: f.owner.jwt }),
  },
  reportLeakedTokens: {
    action: 'TOKEN_REVOKED',
    run: (f) => t.gql(`mutation($s: [String!]!) { reportLeakedTokens(input: { tokens: $s }) { __typename } }`, { s: [f.tokenSecret] }),
  },
  createTeam: { action: 'TEAM_CREATED', run: (f) => teamMutation(t, f.owner.jwt, 'createTeam', { name: `t ${randomUUID()}` }) },
  addTeamMember: {
    action: 'MEMBER_ADDED',
    run: async (f) => {
      const newcomer = await t.user();
      await userId(t, newcomer);
      return teamMutation(t, f.owner.jwt, 'addTeamMember', { teamId: f.teamId, email: newcomer.email });
    },
  },
  updateTeamMemberRole: {
    action: 'MEMBER_ROLE_CHANGED',
    run: async (f) => teamMutation(t, f.owner.jwt, 'updateTeamMemberRole', { teamId: f.teamId, userId: await userId(t, f.member), role: 'OWNER' }),
  },
  removeTeamMember: {
    action: 'MEMBER_REMOVED',
    run: async (f) => teamMutation(t, f.owner.jwt, 'removeTeamMember', { teamId: f.teamId, userId: await userId(t, f.member) }),
  },
  deleteTeam: { action: 'TEAM_DELETED', run: (f) => teamMutation(t, f.owner.jwt, 'deleteTeam', { teamId: f.teamId }) },
};

/** Uses of tokens, not management of them: recorded as usage events instead. */
const NOT_MANAGEMENT = ['verifyToken', 'reportUsage', 'exchangeToken'];

async function fixture(): Promise<Fixture> {
  const [owner, member, boss] = [await t.user({ permissions: ['tokens.*'] }), await t.user(), await admin()];
  const team = await createTeam(t, owner, `audit ${randomUUID().slice(0, 8)}`, [{ user: member }]);
  const minted = await mintToken(t, owner.jwt, { name: `target ${randomUUID()}` });
  return { owner, member, admin: boss, teamId: team.id, tokenId: minted.token.id, tokenSecret: minted.secret };
}

async function allEventIds(): Promise<Set<string>> {
  const rows = await t.orm.em.getConnection().execute<{ id: string }[]>('select id from audit_events');
  return new Set(rows.map((r) => r.id));
}

describe('audit trail', () => {
  it('lists every mutation as management or as a use', () => {
    const mutations = Object.keys(schema.getMutationType()!.getFields()).sort();
    const listed = [...Object.keys(MANAGEMENT), ...NOT_MANAGEMENT].filter((name) => mutations.includes(name) || MANAGEMENT[name]);
    expect(mutations.filter((name) => !listed.includes(name))).toEqual([]);
  });

  it.each(Object.entries(MANAGEMENT))('%s writes an audit event', async (_name, { action, run }) => {
    const f = await fixture();
    const before = await allEventIds();
    await run(f);
    const rows = await t.orm.em
      .getConnection()
      .execute<{ id: string; action: string; changes: unknown }[]>('select id, action, changes from audit_events');
    const added = rows.filter((row) => !before.has(row.id));
    expect(added.map((row) => row.action)).toContain(action);
    // Never a secret, in any event.
    expect(JSON.stringify(added)).not.toContain(f.tokenSecret);
  });

  it('records actor, method, target, address and the changed fields', async () => {
    const owner = await t.user({ permissions: ['tools.*'] });
    const minted = await mintToken(t, owner.jwt, { name: 'watched', permissions: ['tools.read'] });
    await t.gql(
      `mutation($input: UpdateTokenInput!) { updateToken(input: $input) { __typename } }`,
      { input: { id: minted.token.id, permissions: ['tools.read', 'tools.write'] } },
      { token: owner.jwt, headers: { 'user-agent': 'cli/2.0' } },
    );
    const [updated, mintedEvent] = await events(owner.jwt, { tokenId: minted.token.id });
    expect(updated).toMatchObject({
      action: 'TOKEN_UPDATED',
      actor: { email: owner.email, authMethod: 'SESSION', tokenId: null },
      target: { type: 'TOKEN', id: minted.token.id },
      userAgent: 'cli/2.0',
      changes: { permissions: { from: ['tools.read'], to: ['tools.read', 'tools.write'] } },
    });
    expect(mintedEvent.action).toBe('TOKEN_MINTED');
    expect(JSON.stringify(mintedEvent.changes)).not.toContain(minted.secret);
  });

  it('an API token acting is recorded as such; a leak report as anonymous', async () => {
    const owner = await t.user({ permissions: ['tokens.*'] });
    const manager = await mintToken(t, owner.jwt, { name: 'manager', permissions: ['tokens.*'], expiresInDays: 60 });
    const child = await mintToken(t, manager.secret, { name: 'child' });
    await t.gql(`mutation($s: [String!]!) { reportLeakedTokens(input: { tokens: $s }) { __typename } }`, { s: [child.secret] });
    const [revoked, mintedByToken] = await events(owner.jwt, { tokenId: child.token.id });
    expect(mintedByToken.actor).toMatchObject({ authMethod: 'API_TOKEN', tokenId: manager.token.id, email: owner.email });
    expect(revoked).toMatchObject({ action: 'TOKEN_REVOKED', actor: { authMethod: 'ANONYMOUS', label: 'anonymous' }, changes: { reason: 'Reported as leaked' } });
  });

  it('a cascade writes one event per revoked token', async () => {
    const owner = await t.user({ permissions: ['tokens.*'] });
    const parent = await mintToken(t, owner.jwt, { name: 'parent', permissions: ['tokens.*'], expiresInDays: 60 });
    const child = await mintToken(t, parent.secret, { name: 'child' });
    await revokeToken(t, owner.jwt, { id: parent.token.id });
    const childEvents = await events(owner.jwt, { tokenId: child.token.id, action: 'TOKEN_REVOKED' });
    expect(childEvents).toHaveLength(1);
    expect(childEvents[0].changes).toEqual({ reason: 'Parent token revoked' });
  });
});

describe('who reads which events', () => {
  it("users read their own tokens' events, team owners their team's, admins all", async () => {
    const [alice, bob, eve, boss] = [await t.user(), await t.user(), await t.user(), await admin()];
    const team = await createTeam(t, alice, `read ${randomUUID().slice(0, 8)}`, [{ user: bob }]);
    const bobs = await mintToken(t, bob.jwt, { name: 'bob team token', teamId: team.id });
    const ids = async (jwt: string) => (await events(jwt, { tokenId: bobs.token.id })).map((e: any) => e.action);
    expect(await ids(bob.jwt)).toEqual(['TOKEN_MINTED']);
    expect(await ids(alice.jwt)).toEqual(['TOKEN_MINTED']);
    expect(await ids(boss.jwt)).toEqual(['TOKEN_MINTED']);
    expect(await ids(eve.jwt)).toEqual([]);
    const teamEvents = (await events(alice.jwt, { teamId: team.id })).map((e: any) => e.action);
    expect(teamEvents).toEqual(expect.arrayContaining(['TEAM_CREATED', 'MEMBER_ADDED', 'TOKEN_MINTED']));
    expect(await events(bob.jwt, { teamId: team.id, action: 'MEMBER_ADDED' })).toEqual([]);
  });

  it('pages newest first, with totalCount, and filters by actor and time', async () => {
    const alice = await t.user();
    for (let i = 0; i < 5; i += 1) await mintToken(t, alice.jwt, { name: `p${i}` });
    const first = await t.gql(AUDIT, { first: 2 }, { token: alice.jwt });
    expect(first.data.auditEvents.totalCount).toBe(5);
    const second = await t.gql(AUDIT, { first: 2, after: first.data.auditEvents.pageInfo.endCursor }, { token: alice.jwt });
    const all = [...first.data.auditEvents.edges, ...second.data.auditEvents.edges].map((e: any) => e.node.at);
    expect([...all].sort().reverse()).toEqual(all);
    expect(await events(alice.jwt, { actorId: await userId(t, alice) })).toHaveLength(5);
    expect(await events(alice.jwt, { since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
  });
});

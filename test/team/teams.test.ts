import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTeam,
  createTestApp,
  mintToken,
  revokeToken,
  TEAM_FIELDS,
  teamMutation,
  userId,
  type TestApp,
} from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const TEAM = `query($id: ID!) { team(id: $id) { ${TEAM_FIELDS} } }`;
const unique = (name: string) => `${name} ${randomUUID().slice(0, 8)}`;

describe('createTeam', () => {
  it('creates a team with a slug; the caller becomes its OWNER', async () => {
    const alice = await t.user();
    const name = unique('Platform Team (EU)');
    const result = await teamMutation(t, alice.jwt, 'createTeam', { name }, `... on CreateTeamPayload { team { ${TEAM_FIELDS} } }`);
    expect(result.__typename).toBe('CreateTeamPayload');
    expect(result.team).toMatchObject({
      name,
      slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/-$/, ''),
      viewerRole: 'OWNER',
      members: [{ user: { email: alice.email }, role: 'OWNER' }],
    });
    expect(result.team.id).toMatch(/^team_/);
  });

  it('a name whose slug collides with a live team is a ConflictError', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const name = unique('Data Eng');
    await createTeam(t, alice, name);
    const clash = await teamMutation(t, bob.jwt, 'createTeam', { name: name.toUpperCase().replace(' ', '  ') });
    expect(clash.__typename).toBe('ConflictError');
  });

  it.each(['', '   ', 'x'.repeat(65), '!!!'])('name %j is a ValidationError', async (name) => {
    const alice = await t.user();
    expect((await teamMutation(t, alice.jwt, 'createTeam', { name })).__typename).toBe('ValidationError');
  });

  it('needs a signed-in user: an API token gets a ForbiddenError', async () => {
    const alice = await t.user({ permissions: ['tokens.*'] });
    const { secret } = await mintToken(t, alice.jwt, { name: 'script', permissions: ['tokens.*'] });
    expect((await teamMutation(t, secret, 'createTeam', { name: unique('by token') })).__typename).toBe('ForbiddenError');
  });
});

describe('team and teams', () => {
  it('members see the team and their role; outsiders get null, as for a missing team', async () => {
    const [alice, bob, eve] = [await t.user(), await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Visible'), [{ user: bob }]);
    expect((await t.gql(TEAM, { id: team.id }, { token: bob.jwt })).data.team.viewerRole).toBe('MEMBER');
    const hidden = await t.gql(TEAM, { id: team.id }, { token: eve.jwt });
    const missing = await t.gql(TEAM, { id: `team_${randomUUID()}` }, { token: eve.jwt });
    expect(hidden.body).toEqual({ data: { team: null } });
    expect(missing.body).toEqual(hidden.body);
  });

  it('an admin sees any team, with no role in it', async () => {
    const [alice, admin] = [await t.user(), await t.user({ admin: true })];
    const team = await createTeam(t, alice, unique('Audited'));
    expect((await t.gql(TEAM, { id: team.id }, { token: admin.jwt })).data.team).toMatchObject({ id: team.id, viewerRole: null });
  });

  it("teams lists the viewer's teams only", async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const mine = await createTeam(t, alice, unique('Mine'));
    await createTeam(t, bob, unique('Theirs'));
    const response = await t.gql(`{ teams { id viewerRole } }`, {}, { token: alice.jwt });
    expect(response.data.teams).toEqual([{ id: mine.id, viewerRole: 'OWNER' }]);
  });
});

describe('members', () => {
  it('owners add members by email (case-insensitive) and change roles', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    await userId(t, bob);
    const team = await createTeam(t, alice, unique('Growing'));
    const added = await teamMutation(
      t,
      alice.jwt,
      'addTeamMember',
      { teamId: team.id, email: bob.email.toUpperCase() },
      '... on AddTeamMemberPayload { member { user { email } role } team { members { role } } }',
    );
    expect(added.member).toEqual({ user: { email: bob.email }, role: 'MEMBER' });
    expect(added.team.members).toHaveLength(2);
    const promoted = await teamMutation(
      t,
      alice.jwt,
      'updateTeamMemberRole',
      { teamId: team.id, userId: await userId(t, bob), role: 'OWNER' },
      '... on UpdateTeamMemberRolePayload { member { role } }',
    );
    expect(promoted.member.role).toBe('OWNER');
  });

  it('an unknown email is NotFoundError; a second add is ConflictError', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Strict'), [{ user: bob }]);
    expect((await teamMutation(t, alice.jwt, 'addTeamMember', { teamId: team.id, email: 'nobody@example.com' })).__typename).toBe(
      'NotFoundError',
    );
    expect((await teamMutation(t, alice.jwt, 'addTeamMember', { teamId: team.id, email: bob.email })).__typename).toBe('ConflictError');
  });

  it("a member cannot do an owner's work", async () => {
    const [alice, bob, carol] = [await t.user(), await t.user(), await t.user()];
    await userId(t, carol);
    const team = await createTeam(t, alice, unique('Hierarchy'), [{ user: bob }]);
    const aliceId = await userId(t, alice);
    expect((await teamMutation(t, bob.jwt, 'addTeamMember', { teamId: team.id, email: carol.email })).__typename).toBe('ForbiddenError');
    expect((await teamMutation(t, bob.jwt, 'updateTeamMemberRole', { teamId: team.id, userId: aliceId, role: 'MEMBER' })).__typename).toBe(
      'ForbiddenError',
    );
    expect((await teamMutation(t, bob.jwt, 'removeTeamMember', { teamId: team.id, userId: aliceId })).__typename).toBe('ForbiddenError');
    expect((await teamMutation(t, bob.jwt, 'deleteTeam', { teamId: team.id })).__typename).toBe('ForbiddenError');
    const members = (await t.gql(TEAM, { id: team.id }, { token: alice.jwt })).data.team.members;
    expect(members.map((m: { role: string }) => m.role).sort()).toEqual(['MEMBER', 'OWNER']);
  });

  it('a team always keeps at least one owner', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Owned'), [{ user: bob }]);
    const aliceId = await userId(t, alice);
    expect((await teamMutation(t, alice.jwt, 'updateTeamMemberRole', { teamId: team.id, userId: aliceId, role: 'MEMBER' })).__typename).toBe(
      'ValidationError',
    );
    expect((await teamMutation(t, alice.jwt, 'removeTeamMember', { teamId: team.id, userId: aliceId })).__typename).toBe('ValidationError');
  });

  it('two owners demoting each other at once cannot leave the team without an owner', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Race'), [{ user: bob, role: 'OWNER' }]);
    const [aliceId, bobId] = [await userId(t, alice), await userId(t, bob)];
    const results = await Promise.all([
      teamMutation(t, alice.jwt, 'updateTeamMemberRole', { teamId: team.id, userId: bobId, role: 'MEMBER' }),
      teamMutation(t, bob.jwt, 'updateTeamMemberRole', { teamId: team.id, userId: aliceId, role: 'MEMBER' }),
    ]);
    // One wins; the other is refused, as the last owner (or, if it came second, as a member now).
    expect(results.filter((r) => r.__typename === 'UpdateTeamMemberRolePayload')).toHaveLength(1);
    expect(results.filter((r) => r.__typename === 'ValidationError' || r.__typename === 'ForbiddenError')).toHaveLength(1);
    const admin = await t.user({ admin: true });
    const members = (await t.gql(TEAM, { id: team.id }, { token: admin.jwt })).data.team.members;
    expect(members.filter((m: { role: string }) => m.role === 'OWNER')).toHaveLength(1);
  });

  it("removing a member revokes that member's team tokens, not their personal ones", async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Offboard'), [{ user: bob }]);
    const teamToken = await mintToken(t, bob.jwt, { name: 'ci', teamId: team.id });
    const personal = await mintToken(t, bob.jwt, { name: 'laptop' });
    const removed = await teamMutation(t, alice.jwt, 'removeTeamMember', { teamId: team.id, userId: await userId(t, bob) });
    expect(removed.__typename).toBe('RemoveTeamMemberPayload');
    const status = async (id: string) =>
      (await t.gql(`query($id: ID!) { token(id: $id) { status revocation { reason revokedBy } } }`, { id }, { token: bob.jwt })).data
        .token;
    expect(await status(teamToken.token.id)).toEqual({ status: 'REVOKED', revocation: { reason: 'Removed from team', revokedBy: alice.email } });
    expect((await status(personal.token.id)).status).toBe('ACTIVE');
    expect((await t.gql(`{ viewer { authMethod } }`, {}, { token: teamToken.secret })).status).toBe(401);
  });

  it('a member may leave on their own', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Leaving'), [{ user: bob }]);
    const left = await teamMutation(t, bob.jwt, 'removeTeamMember', { teamId: team.id, userId: await userId(t, bob) });
    expect(left.__typename).toBe('RemoveTeamMemberPayload');
    expect((await t.gql(TEAM, { id: team.id }, { token: bob.jwt })).data.team).toBeNull();
  });
});

describe('deleteTeam', () => {
  it('revokes every team token, hides the team, keeps the revocations visible, and frees the slug', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const name = unique('Sunset');
    const team = await createTeam(t, alice, name, [{ user: bob }]);
    const bobs = await mintToken(t, bob.jwt, { name: 'bob ci', teamId: team.id });
    const deleted = await teamMutation(t, alice.jwt, 'deleteTeam', { teamId: team.id }, '... on DeleteTeamPayload { team { id name } }');
    expect(deleted).toMatchObject({ __typename: 'DeleteTeamPayload', team: { id: team.id, name } });
    expect((await t.gql(TEAM, { id: team.id }, { token: alice.jwt })).data.team).toBeNull();
    const token = (
      await t.gql(`query($id: ID!) { token(id: $id) { status team { name } revocation { reason } } }`, { id: bobs.token.id }, { token: bob.jwt })
    ).data.token;
    expect(token).toEqual({ status: 'REVOKED', team: { name }, revocation: { reason: 'Team deleted' } });
    expect((await teamMutation(t, alice.jwt, 'createTeam', { name })).__typename).toBe('CreateTeamPayload');
  });

  it('accepts the team id as id too', async () => {
    const alice = await t.user();
    const team = await createTeam(t, alice, unique('Either'));
    expect((await teamMutation(t, alice.jwt, 'deleteTeam', { id: team.id })).__typename).toBe('DeleteTeamPayload');
  });
});

describe('team tokens', () => {
  const TEAM_TOKENS = `query($id: ID!) { team(id: $id) { tokens(includeInactive: true) { totalCount edges { node { name owner { email } } } } } }`;

  it('owners see every team token; members see their own; the viewer’s list has their team tokens', async () => {
    const [alice, bob, carol] = [await t.user(), await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Shared'), [{ user: bob }, { user: carol }]);
    await mintToken(t, alice.jwt, { name: 'alice ci', teamId: team.id });
    await mintToken(t, bob.jwt, { name: 'bob ci', teamId: team.id });
    await mintToken(t, carol.jwt, { name: 'carol ci', teamId: team.id });
    const names = async (jwt: string) =>
      (await t.gql(TEAM_TOKENS, { id: team.id }, { token: jwt })).data.team.tokens.edges.map((e: any) => e.node.name).sort();
    expect(await names(alice.jwt)).toEqual(['alice ci', 'bob ci', 'carol ci']);
    expect(await names(bob.jwt)).toEqual(['bob ci']);
    const mine = (await t.gql(`{ tokens { edges { node { name team { id } } } } }`, {}, { token: bob.jwt })).data.tokens.edges;
    expect(mine).toEqual([{ node: { name: 'bob ci', team: { id: team.id } } }]);
  });

  it("an owner revokes a member's team token; a member cannot revoke another member's", async () => {
    const [alice, bob, carol] = [await t.user(), await t.user(), await t.user()];
    const team = await createTeam(t, alice, unique('Control'), [{ user: bob }, { user: carol }]);
    const bobs = await mintToken(t, bob.jwt, { name: 'bob ci', teamId: team.id });
    expect((await revokeToken(t, carol.jwt, { id: bobs.token.id })).__typename).toBe('NotFoundError');
    expect((await revokeToken(t, alice.jwt, { id: bobs.token.id })).token.status).toBe('REVOKED');
  });

  it('a team role grants token management inside the team only', async () => {
    const alice = await t.user({ permissions: [] });
    const team = await createTeam(t, alice, unique('Grants'));
    // As OWNER, alice holds tokens.* in the team, but not outside it.
    expect((await mintToken(t, alice.jwt, { name: 'team manager', teamId: team.id, permissions: ['tokens.read'] })).__typename).toBe(
      'MintTokenPayload',
    );
    expect((await mintToken(t, alice.jwt, { name: 'personal manager', permissions: ['tokens.read'] })).__typename).toBe(
      'ValidationError',
    );
  });

  it('an owner mints on behalf of a member, contained in what both hold', async () => {
    const alice = await t.user({ permissions: ['tools.*', 'files.read'] });
    const bob = await t.user({ permissions: ['tools.read'] });
    const team = await createTeam(t, alice, unique('Delegation'), [{ user: bob }]);
    const bobId = await userId(t, bob);
    const forBob = await mintToken(t, alice.jwt, { name: 'for bob', teamId: team.id, ownerId: bobId, permissions: ['tools.read'] });
    expect(forBob.__typename).toBe('MintTokenPayload');
    expect(forBob.token.owner.email).toBe(bob.email);
    // Alice holds files.read, but Bob does not: refused.
    const wider = await mintToken(t, alice.jwt, { name: 'too wide', teamId: team.id, ownerId: bobId, permissions: ['files.read'] });
    expect(wider.__typename).toBe('ValidationError');
    expect(wider.message).toMatch(/member/);
    // A member cannot mint for someone else.
    const aliceId = await userId(t, alice);
    expect((await mintToken(t, bob.jwt, { name: 'for alice', teamId: team.id, ownerId: aliceId })).__typename).toBe('ForbiddenError');
    // Nor for someone outside the team.
    const eve = await t.user();
    expect((await mintToken(t, alice.jwt, { name: 'for eve', teamId: team.id, ownerId: await userId(t, eve) })).__typename).toBe(
      'NotFoundError',
    );
  });
});

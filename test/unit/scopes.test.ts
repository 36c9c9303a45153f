import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import type { Principal, TeamRole, TokenGrant, UserSnapshot } from '../../src/auth/principal.js';
import { auditReach, managedTokens } from '../../src/auth/reach.js';
import { authorizationError, scopeLoaders, type AuthorizationPort } from '../../src/auth/scopes.js';
import type { GuardedToken } from '../../src/auth/token-access.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../../src/errors/errors.js';
import { encodeGlobalId } from '../../src/global-id.js';

/** The authorization rules on their own: a fake port, no database, no GraphQL. */

const user = (overrides: Partial<UserSnapshot> = {}): UserSnapshot => ({
  id: randomUUID(),
  email: 'someone@example.com',
  name: null,
  permissions: ['tools.*'],
  isAdmin: false,
  ...overrides,
});

const session = (overrides: Partial<UserSnapshot> = {}): Principal => ({ authMethod: 'SESSION', user: user(overrides), token: null });

function apiToken(owner: UserSnapshot, permissions: string[], ancestorIds: string[] = []): Principal {
  const token: TokenGrant = { id: randomUUID(), teamId: null, permissions, ancestorIds, lineage: [], owner, ownerTeamRole: null };
  return { authMethod: 'API_TOKEN', user: owner, token };
}

function world(tokens: GuardedToken[], teams: Record<string, { deletedAt: Date | null; role: TeamRole | null }>) {
  const port: AuthorizationPort = {
    token: async (id) => tokens.find((t) => t.id === id) ?? null,
    team: async (id) => (teams[id] ? { deletedAt: teams[id].deletedAt } : null),
    roleIn: async (teamId) => teams[teamId]?.role ?? null,
  };
  return port;
}

const tokenOf = (ownerId: string, extra: Partial<GuardedToken> = {}): GuardedToken => ({
  id: randomUUID(),
  ancestorIds: [],
  owner: { id: ownerId },
  team: null,
  ...extra,
});

describe('scope loaders', () => {
  it('a person sees and changes their own tokens; an admin sees every token but changes only theirs', async () => {
    const alice = session();
    const admin = session({ isAdmin: true });
    const hers = tokenOf(alice.user.id);
    const port = world([hers], {});
    const asAlice = scopeLoaders(alice, port);
    const asAdmin = scopeLoaders(admin, port);
    const id = encodeGlobalId('Token', hers.id);
    expect(await asAlice.tokenVisible(id)).toBe(true);
    expect(await asAlice.tokenChangeable(id)).toBe(true);
    expect(await asAdmin.tokenVisible(id)).toBe(true);
    expect(await asAdmin.tokenChangeable(id)).toBe(false);
    expect(await asAdmin.tokenRotatable(id)).toBe(false);
    expect(await scopeLoaders(session(), port).tokenVisible(id)).toBe(false);
  });

  it('an API token reaches itself and its descendants only, never its parent or its owner’s other tokens', async () => {
    const owner = user();
    const caller = apiToken(owner, ['tokens.read']);
    const self = tokenOf(owner.id, { id: caller.token!.id });
    const child = tokenOf(owner.id, { ancestorIds: [caller.token!.id] });
    const sibling = tokenOf(owner.id);
    const loaders = scopeLoaders(caller, world([self, child, sibling], {}));
    expect(await loaders.tokenVisible(self)).toBe(true);
    expect(await loaders.tokenRotatable(encodeGlobalId('Token', child.id))).toBe(true);
    expect(await loaders.tokenVisible(sibling)).toBe(false);
  });

  it('a team owner manages every team token; a member only their own; a deleted team has no members', async () => {
    const owner = session();
    const member = session();
    const teamId = randomUUID();
    const teamToken = tokenOf(member.user.id, { team: { id: teamId } });
    const someoneElses = tokenOf(randomUUID(), { team: { id: teamId } });
    const asOwner = scopeLoaders(owner, world([teamToken, someoneElses], { [teamId]: { deletedAt: null, role: 'OWNER' } }));
    const asMember = scopeLoaders(member, world([teamToken, someoneElses], { [teamId]: { deletedAt: null, role: 'MEMBER' } }));
    expect(await asOwner.tokenChangeable(encodeGlobalId('Token', someoneElses.id))).toBe(true);
    expect(await asMember.tokenVisible(someoneElses)).toBe(false);
    expect(await asMember.teamMember(encodeGlobalId('Team', teamId))).toBe(true);
    expect(await asMember.teamOwner({ id: teamId })).toBe(false);
    const deleted = scopeLoaders(member, world([], { [teamId]: { deletedAt: new Date(), role: 'MEMBER' } }));
    expect(await deleted.teamMember({ id: teamId })).toBe(false);
    // Which team a token was in stays readable to its members after the team is gone.
    expect(await deleted.teamReader(teamId)).toBe(true);
  });

  it('a member may remove themselves; removing anyone else takes an owner', async () => {
    const member = session();
    const teamId = randomUUID();
    const loaders = scopeLoaders(member, world([], { [teamId]: { deletedAt: null, role: 'MEMBER' } }));
    const team = encodeGlobalId('Team', teamId);
    expect(await loaders.memberRemovable({ teamId: team, userId: encodeGlobalId('User', member.user.id) })).toBe(true);
    expect(await loaders.memberRemovable({ teamId: team, userId: encodeGlobalId('User', randomUUID()) })).toBe(false);
  });

  it('ids of the wrong kind, forged or malformed, name nothing and never reach the port', async () => {
    const asked: string[] = [];
    const port: AuthorizationPort = {
      token: async (id) => (asked.push(id), null),
      team: async (id) => (asked.push(id), null),
      roleIn: async (id) => (asked.push(id), 'OWNER'),
    };
    const loaders = scopeLoaders(session(), port);
    for (const id of ['tok_not-a-uuid', `team_${randomUUID()}`, '\u0000', 'x'.repeat(10_000), `tok_${randomUUID()}\u0000`]) {
      expect(await loaders.tokenVisible(id)).toBe(false);
    }
    expect(await loaders.teamOwner(`tok_${randomUUID()}`)).toBe(false);
    // None of them is a token id, so none reached the port (a team id asked as a token is none either).
    expect(asked).toEqual([]);
  });

  it('management through an API token needs the action in its own list; a session always has it', () => {
    const owner = user({ permissions: ['tokens.*', 'tools.*'] });
    expect(scopeLoaders(apiToken(owner, []), world([], {})).tokenPermission('tokens.read')).toBe(false);
    expect(scopeLoaders(apiToken(owner, ['tokens.read']), world([], {})).tokenPermission('tokens.read')).toBe(true);
    expect(scopeLoaders(apiToken(owner, ['tokens.read']), world([], {})).tokenPermission('tokens.revoke')).toBe(false);
    expect(scopeLoaders(session(), world([], {})).tokenPermission('tokens.revoke')).toBe(true);
    expect(scopeLoaders(null, world([], {})).tokenPermission('tokens.read')).toBe(false);
  });
});

describe('whom the caller manages', () => {
  it('an API token its lineage, a person their own tokens, inside a team an owner or admin all of it', () => {
    const alice = session();
    const admin = session({ isAdmin: true });
    const token = apiToken(alice.user, ['tokens.read']);
    expect(managedTokens(token)).toEqual({ kind: 'lineage', tokenId: token.token!.id });
    expect(managedTokens(token, { role: 'OWNER' })).toEqual({ kind: 'lineage', tokenId: token.token!.id });
    expect(managedTokens(alice)).toEqual({ kind: 'owner', userId: alice.user.id });
    expect(managedTokens(alice, { role: 'MEMBER' })).toEqual({ kind: 'owner', userId: alice.user.id });
    expect(managedTokens(alice, { role: 'OWNER' })).toEqual({ kind: 'all' });
    expect(managedTokens(admin, { role: null })).toEqual({ kind: 'all' });
    // Outside a team, an administrator's own list is their own tokens.
    expect(managedTokens(admin)).toEqual({ kind: 'owner', userId: admin.user.id });
  });

  it('the audit trail: an admin all of it, an API token its lineage, a person their own', () => {
    const alice = session();
    expect(auditReach(session({ isAdmin: true }))).toEqual({ kind: 'all' });
    expect(auditReach(alice)).toEqual({ kind: 'user', userId: alice.user.id });
    const token = apiToken(session({ isAdmin: true }).user, ['tokens.read']);
    expect(auditReach(token)).toEqual({ kind: 'lineage', tokenId: token.token!.id });
  });
});

describe('what a failed scope tells the caller', () => {
  const failed = (...scopes: string[]): AuthFailure => ({
    kind: AuthScopeFailureType.AllAuthScopes,
    failures: scopes.map((scope) => ({ kind: AuthScopeFailureType.AuthScope, scope, parameter: 'tokens.read', error: null })),
  });

  it('no caller is UNAUTHENTICATED, with why; a hidden object is NOT_FOUND, before anything it would reveal', () => {
    const anonymous = authorizationError(null, { message: 'Unknown API token', code: 'UNAUTHENTICATED' }, failed('authenticated'));
    expect(anonymous).toBeInstanceOf(UnauthenticatedError);
    expect(anonymous.message).toBe('Unknown API token');
    expect(authorizationError(session(), null, failed('tokenVisible', 'tokenChangeable'))).toBeInstanceOf(NotFoundError);
    expect(authorizationError(session(), null, failed('teamMember', 'teamOwner')).message).toBe('Team not found');
  });

  it('refusals about the caller come first and name what is missing', () => {
    const error = authorizationError(session(), null, failed('tokenVisible', 'tokenPermission'));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain("'tokens.read'");
    expect(authorizationError(session(), null, failed('admin')).message).toBe('Administrators only');
    expect(authorizationError(session(), null, failed('tokenChangeable')).message).toBe('You may see this token but not change it');
    expect(authorizationError(session(), null, failed('memberRemovable')).message).toBe('Only the team’s owners may do this');
  });
});

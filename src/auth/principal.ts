import { ALL_PERMISSIONS, grants, intersectPermissions, normalizePermissions } from './permissions.js';

export type AuthMethod = 'SESSION' | 'API_TOKEN';
/** A user's role in a team: what decides what they may do there. */
export type TeamRole = 'OWNER' | 'MEMBER';

/** What authorization needs to know about a user: plain data, safe to cache. */
export interface UserSnapshot {
  id: string;
  email: string;
  name: string | null;
  permissions: string[];
  isAdmin: boolean;
}

/**
 * What authorization needs to know about the API token a request came with: whose it is, where it
 * sits in its lineage and what bounds it. The token module's snapshot is a superset of this.
 */
export interface TokenGrant {
  id: string;
  teamId: string | null;
  permissions: string[];
  /** Ancestors, nearest last: the token manages only itself and its descendants. */
  ancestorIds: string[];
  /** The ancestors' own permission lists, nearest last; each bounds this token. */
  lineage: string[][];
  owner: UserSnapshot;
  /** The owner's role in the token's team now (null for a personal token, or a former member). */
  ownerTeamRole: TeamRole | null;
}

/** The token-management actions an API token must be granted explicitly. */
export type TokenAction = 'tokens.create' | 'tokens.read' | 'tokens.update' | 'tokens.revoke';

/**
 * Who is calling, once authenticated. For a session this is the user and their claims; for an
 * API token it is the token's owner acting through the token, bounded by both.
 */
export interface Principal {
  authMethod: AuthMethod;
  user: UserSnapshot;
  /** Set when authMethod is API_TOKEN. */
  token: TokenGrant | null;
}

/**
 * What a team role grants inside that team, on top of the session's own claims. These are
 * management powers: a member manages their own team tokens, an owner every team token and
 * the team itself.
 */
export const TEAM_ROLE_PERMISSIONS: Record<TeamRole, string[]> = {
  OWNER: ['tokens.*', 'team.*'],
  MEMBER: ['tokens.create', 'tokens.read', 'tokens.update', 'tokens.revoke'],
};

/** What a user holds now, from their latest recorded claims (and a team role, inside that team). */
export function userPermissions(user: UserSnapshot, teamRole: TeamRole | null = null): string[] {
  if (user.isAdmin) return [ALL_PERMISSIONS];
  return normalizePermissions([...user.permissions, ...(teamRole ? TEAM_ROLE_PERMISSIONS[teamRole] : [])]);
}

/**
 * What a token may do right now: what its owner holds now (inside the token's team), cut down by
 * every list in its lineage. An empty list narrows nothing: a personal token with one acts with
 * its owner's permissions, a child with one acts with exactly its parent's. So no token ever
 * outgrows its owner or its parent.
 */
export function tokenPermissions(token: Pick<TokenGrant, 'permissions' | 'owner' | 'ownerTeamRole' | 'lineage'>): string[] {
  // Snapshots are immutable and cached, so the answer is computed once per snapshot, not per use.
  const known = computed.get(token);
  if (known) return known;
  let held = userPermissions(token.owner, token.ownerTeamRole);
  for (const list of [...token.lineage, token.permissions]) {
    if (list.length > 0) held = intersectPermissions(held, list);
  }
  computed.set(token, held);
  return held;
}

const computed = new WeakMap<object, string[]>();

/** The permissions the caller holds right now (for a session: outside any team). */
export function effectivePermissions(principal: Principal): string[] {
  return principal.token ? tokenPermissions(principal.token) : userPermissions(principal.user);
}

/** Admin powers belong to a signed-in administrator; they are not delegated to API tokens. */
export function isAdmin(principal: Principal): boolean {
  return principal.authMethod === 'SESSION' && principal.user.isAdmin;
}

/**
 * Whether the caller may perform a token-management action at all. A signed-in user always
 * manages their own tokens. An API token must name the action in its own list (an empty list,
 * which inherits for resource access, never grants management) and still hold it through its
 * owner and lineage. Anything else fails closed.
 */
export function mayManageTokens(principal: Principal, action: TokenAction): boolean {
  switch (principal.authMethod) {
    case 'SESSION':
      return true;
    case 'API_TOKEN':
      return (
        principal.token !== null &&
        grants(principal.token.permissions, action) &&
        grants(tokenPermissions(principal.token), action)
      );
    default:
      return false;
  }
}

export const VERIFY_PERMISSION = 'tokens.verify';

/**
 * Whether the caller may verify other people's tokens (a resource server). A session needs the
 * permission (an admin holds it); an API token must name it in its own list, because an empty
 * list inherits for resource access but never grants a power over other tokens.
 */
export function mayVerifyTokens(principal: Principal): boolean {
  if (!grants(effectivePermissions(principal), VERIFY_PERMISSION)) return false;
  return principal.authMethod === 'SESSION' || (principal.token !== null && grants(principal.token.permissions, VERIFY_PERMISSION));
}

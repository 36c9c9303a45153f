import { isAdmin, type Principal, type TeamRole } from './principal.js';

/**
 * Who may see, change and rotate a token: one set of rules, used by the scopes that guard every
 * way a token is reached (by id, through `node`, in lists, in mutations' lookups).
 *
 * - An API token reaches only itself and its descendants: never its parent, never its owner's
 *   other tokens.
 * - A signed-in user reaches their own tokens, and, as a team OWNER, every token of that team.
 * - An administrator sees (and so may revoke) every token, but changes only their own.
 */

/** What the rules read of a token: the token entity has these, and so does anything shaped like it. */
export interface GuardedToken {
  id: string;
  ancestorIds: string[];
  owner: { id: string };
  team: { id: string } | null;
}

/** The caller's role in a team (batched per request by whoever implements it). */
export type RoleIn = (teamId: string) => Promise<TeamRole | null>;

type Reach = 'none' | 'see' | 'manage';

/** Whether the token is the API token's own, or one of its descendants. */
function inOwnLineage(principal: Principal, token: GuardedToken): boolean {
  const self = principal.token;
  return self !== null && (token.id === self.id || token.ancestorIds.includes(self.id));
}

async function reach(principal: Principal, roleIn: RoleIn, token: GuardedToken): Promise<Reach> {
  if (principal.authMethod === 'API_TOKEN') return inOwnLineage(principal, token) ? 'manage' : 'none';
  if (token.owner.id === principal.user.id) return 'manage';
  if (token.team && (await roleIn(token.team.id)) === 'OWNER') return 'manage';
  return isAdmin(principal) ? 'see' : 'none';
}

export async function canSeeToken(principal: Principal, roleIn: RoleIn, token: GuardedToken): Promise<boolean> {
  return (await reach(principal, roleIn, token)) !== 'none';
}

export async function canChangeToken(principal: Principal, roleIn: RoleIn, token: GuardedToken): Promise<boolean> {
  return (await reach(principal, roleIn, token)) === 'manage';
}

/**
 * Who may receive a new secret for a token: the secret acts as the token's owner, so only the
 * owner (signed in), or an API token of the token's own lineage (itself, or one it descends
 * from). Team owners and administrators may revoke someone else's token, never act as it.
 */
export function canRotateToken(principal: Principal, token: GuardedToken): boolean {
  if (principal.authMethod === 'API_TOKEN') return inOwnLineage(principal, token);
  return token.owner.id === principal.user.id;
}

import { isAdmin, type Principal, type TeamRole } from '../../auth/principal.js';
import type { Token } from './token.entity.js';

/**
 * Who may see and who may change a token: one set of rules, used by the scopes that guard every
 * way a token is reached (by id, through `node`, in lists, in mutations' lookups).
 *
 * - An API token reaches only itself and its descendants: never its parent, never its owner's
 *   other tokens.
 * - A signed-in user reaches their own tokens, and, as a team OWNER, every token of that team.
 * - An administrator sees (and so may revoke) every token, but changes only their own.
 */
export interface TokenAccess {
  principal: Principal;
  /** The caller's role in a team (batched per request). */
  roleIn: (teamId: string) => Promise<TeamRole | null>;
}

type Reach = 'none' | 'see' | 'manage';

async function reach({ principal, roleIn }: TokenAccess, token: Token): Promise<Reach> {
  if (principal.authMethod === 'API_TOKEN') {
    const self = principal.token;
    return self && (token.id === self.id || token.ancestorIds.includes(self.id)) ? 'manage' : 'none';
  }
  if (token.owner.id === principal.user.id) return 'manage';
  if (token.team && (await roleIn(token.team.id)) === 'OWNER') return 'manage';
  return isAdmin(principal) ? 'see' : 'none';
}

export async function canSeeToken(access: TokenAccess, token: Token): Promise<boolean> {
  return (await reach(access, token)) !== 'none';
}

export async function canChangeToken(access: TokenAccess, token: Token): Promise<boolean> {
  return (await reach(access, token)) === 'manage';
}

/**
 * Who may receive a new secret for a token: the secret acts as the token's owner, so only the
 * owner (signed in), or an API token of the token's own lineage (itself, or one it descends
 * from). Team owners and administrators may revoke someone else's token, never act as it.
 */
export function canRotateToken(principal: Principal, token: Token): boolean {
  if (principal.authMethod === 'API_TOKEN') {
    const self = principal.token;
    return self !== null && (token.id === self.id || token.ancestorIds.includes(self.id));
  }
  return token.owner.id === principal.user.id;
}

import type { TokenSnapshot, UserSnapshot } from '../modules/token/token-snapshot.js';
import { ALL_PERMISSIONS, grants, intersectPermissions, normalizePermissions } from './permissions.js';

export type AuthMethod = 'SESSION' | 'API_TOKEN';

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
  token: TokenSnapshot | null;
}

/** What the owner holds now, from their latest recorded claims. */
export function userPermissions(user: UserSnapshot): string[] {
  return user.isAdmin ? [ALL_PERMISSIONS] : normalizePermissions(user.permissions);
}

/**
 * The permissions the caller holds right now. A token's empty list inherits its owner's; a
 * non-empty one is cut down to what the owner still holds, so a token never outgrows its owner.
 */
export function effectivePermissions(principal: Principal): string[] {
  return principal.token ? tokenPermissions(principal.token) : userPermissions(principal.user);
}

/** What a token may do right now: its own list within its owner's current permissions. */
export function tokenPermissions(token: Pick<TokenSnapshot, 'permissions' | 'owner'>): string[] {
  const owner = userPermissions(token.owner);
  if (token.permissions.length === 0) return owner;
  return intersectPermissions(token.permissions, owner);
}

export function isAdmin(principal: Principal): boolean {
  return principal.authMethod === 'SESSION' && principal.user.isAdmin;
}

/**
 * Whether the caller may perform a token-management action at all. A signed-in user always
 * manages their own tokens. An API token must name the action in its own list (an empty list,
 * which inherits for resource access, never grants management). Anything else fails closed.
 */
export function mayManageTokens(principal: Principal, action: TokenAction): boolean {
  switch (principal.authMethod) {
    case 'SESSION':
      return true;
    case 'API_TOKEN':
      return principal.token !== null && grants(principal.token.permissions, action);
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

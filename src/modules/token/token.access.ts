import type { Principal } from '../../auth/principal.js';
import type { Token } from './token.entity.js';

/**
 * Who may see (and so act on) a token. One rule, used by the scope that guards every way a
 * token is reached: by id, through `node`, in lists and in mutations' lookups.
 */
export function canSeeToken(principal: Principal, token: Token): boolean {
  return token.owner.id === principal.user.id;
}

import { isAdmin, type Principal, type TeamRole } from './principal.js';

/**
 * Whom the caller manages: the one answer behind every list of tokens, every bulk revocation of
 * "mine" and the audit trail a caller reads. An API token manages itself and its descendants; a
 * person their own tokens; inside a team, its owners (and administrators) every team token.
 */
export type ManagedTokens =
  /** Every token (of the team, where one is given). */
  | { kind: 'all' }
  | { kind: 'lineage'; tokenId: string }
  | { kind: 'owner'; userId: string };

/** The tokens the caller manages: their own, or, inside a team where they hold `role`, the team's. */
export function managedTokens(principal: Principal, team?: { role: TeamRole | null }): ManagedTokens {
  if (principal.token) return { kind: 'lineage', tokenId: principal.token.id };
  if (team && (team.role === 'OWNER' || isAdmin(principal))) return { kind: 'all' };
  return { kind: 'owner', userId: principal.user.id };
}

/**
 * Whose audit events the caller reads: an administrator everything; an API token its lineage's;
 * a person their own tokens' and those of the teams they own.
 */
export type AuditReach = { kind: 'all' } | { kind: 'lineage'; tokenId: string } | { kind: 'user'; userId: string };

export function auditReach(principal: Principal): AuditReach {
  if (principal.token) return { kind: 'lineage', tokenId: principal.token.id };
  return isAdmin(principal) ? { kind: 'all' } : { kind: 'user', userId: principal.user.id };
}

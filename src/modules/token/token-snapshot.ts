import type { TeamRole, TokenGrant, UserSnapshot } from '../../auth/principal.js';
import type { TimeRestrictions, Token, UsageLimits } from './token.entity.js';
import type { User } from '../user/user.entity.js';

/**
 * A token as verification sees it: plain, immutable data with its owner's current claims, so it
 * can be cached between requests without holding an entity manager.
 */
export interface TokenSnapshot extends TokenGrant {
  id: string;
  name: string;
  prefix: string;
  secretHash: string;
  teamId: string | null;
  permissions: string[];
  serverId: string | null;
  ipRestrictions: string[];
  timeRestrictions: TimeRestrictions | null;
  usageLimits: UsageLimits | null;
  createdAt: number;
  /** The earliest expiry in the token's lineage (its own, or an ancestor's). */
  expiresAt: number | null;
  /** Its own revocation, or an ancestor's. */
  revokedAt: number | null;
  /** Ancestors, nearest last: the token manages only itself and its descendants. */
  ancestorIds: string[];
  /** The ancestors' own permission lists, nearest last; each bounds this token. */
  lineage: string[][];
  owner: UserSnapshot;
  /** The owner's role in the token's team now (null for a personal token, or a former member). */
  ownerTeamRole: TeamRole | null;
  /**
   * Null when the presented secret is the token's current one. For a secret a rotation
   * replaced: until when it still verifies (the grace period); after that it answers REVOKED.
   */
  secretValidUntil: number | null;
}

export function snapshotOfUser(user: User): UserSnapshot {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    permissions: [...user.permissions],
    isAdmin: user.isAdmin,
  };
}

export function snapshotOfToken(
  token: Token,
  owner: User,
  context: {
    lineage: string[][];
    ownerTeamRole: TeamRole | null;
    /** The earliest expiry among the ancestors: the token is never valid past it. */
    ancestorsExpireAt?: Date | null;
    /** Set when an ancestor is revoked: so, in effect, is the token. */
    ancestorRevokedAt?: Date | null;
  },
): TokenSnapshot {
  const own = token.expiresAt?.getTime() ?? null;
  const inherited = context.ancestorsExpireAt?.getTime() ?? null;
  return Object.freeze({
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    secretHash: token.secretHash,
    teamId: token.team?.id ?? null,
    permissions: [...token.permissions],
    serverId: token.serverId,
    ipRestrictions: [...token.ipRestrictions],
    timeRestrictions: token.timeRestrictions,
    usageLimits: token.usageLimits,
    createdAt: token.createdAt.getTime(),
    expiresAt: own === null ? inherited : inherited === null ? own : Math.min(own, inherited),
    revokedAt: token.revokedAt?.getTime() ?? context.ancestorRevokedAt?.getTime() ?? null,
    ancestorIds: [...token.ancestorIds],
    lineage: context.lineage,
    owner: snapshotOfUser(owner),
    ownerTeamRole: context.ownerTeamRole,
    secretValidUntil: null,
  });
}

import type { TimeRestrictions, Token, UsageLimits } from './token.entity.js';
import type { User } from '../user/user.entity.js';

/** What authorization needs to know about a user: plain data, safe to cache. */
export interface UserSnapshot {
  id: string;
  email: string;
  name: string | null;
  permissions: string[];
  isAdmin: boolean;
}

/**
 * A token as verification sees it: plain, immutable data with its owner's current claims, so it
 * can be cached between requests without holding an entity manager.
 */
export interface TokenSnapshot {
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
  expiresAt: number | null;
  revokedAt: number | null;
  owner: UserSnapshot;
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

export function snapshotOfToken(token: Token, owner: User): TokenSnapshot {
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
    expiresAt: token.expiresAt?.getTime() ?? null,
    revokedAt: token.revokedAt?.getTime() ?? null,
    owner: snapshotOfUser(owner),
  });
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { ALL_PERMISSIONS, intersectPermissions } from '../../auth/permissions.js';
import type { SessionClaims } from '../../auth/session-claims.js';
import type { UserSnapshot } from '../../auth/principal.js';
import { User } from './user.entity.js';

/**
 * Keeps the users table in step with session claims: a row on first sight, an update only when
 * the claims differ from what is recorded, so a steady session costs one read per request.
 *
 * The recorded claims bound every token of the user (an empty permission list inherits them), so
 * they follow the newest session, not the last one presented: a session issued before the one the
 * claims came from (a stale browser tab, a CI job with an old session) authenticates as itself,
 * with its own claims bounded by the newest ones, but changes nothing recorded.
 */
export class UserService {
  constructor(
    private readonly em: EntityManager,
    /** Told when a known user's recorded claims change (their tokens' bounds changed). */
    private readonly onClaimsChanged: (userId: string) => void = () => {},
  ) {}

  /** The caller as a session presents them: the recorded user, or, for an older session, itself. */
  async syncFromClaims(claims: SessionClaims, now: Date): Promise<User | UserSnapshot> {
    const existing = (await this.em.findOne(User, { subject: claims.subject })) ?? (await this.create(claims, now));
    if (!issuedNoEarlier(claims.issuedAt, existing.claimsIssuedAt)) return asPresented(existing, claims);
    if (sameClaims(existing, claims)) {
      // Remember the newer issue time, so that a session between the two cannot rewrite them.
      if (claims.issuedAt && claims.issuedAt > (existing.claimsIssuedAt ?? new Date(0))) await this.recordIssue(existing, claims.issuedAt);
      return existing;
    }
    // Conditional, so that of two sessions racing, the older one cannot win by writing last.
    const changed = await this.em.nativeUpdate(
      User,
      {
        id: existing.id,
        ...(claims.issuedAt ? { $or: [{ claimsIssuedAt: null }, { claimsIssuedAt: { $lte: claims.issuedAt } }] } : { claimsIssuedAt: null }),
      },
      {
        email: claims.email,
        name: claims.name,
        permissions: claims.permissions,
        isAdmin: claims.isAdmin,
        claimsIssuedAt: claims.issuedAt,
        updatedAt: now,
      },
    );
    await this.em.refresh(existing);
    if (changed === 0) return asPresented(existing, claims);
    this.onClaimsChanged(existing.id);
    return existing;
  }

  /**
   * A row for a new user. Two first requests may race (with different sessions): both insert or
   * find the row already there, and each then goes on as any later session would, through the
   * conditional update, so the newer one's claims are what stays recorded.
   */
  private async create(claims: SessionClaims, now: Date): Promise<User> {
    const fresh = new User({ subject: claims.subject, email: claims.email, name: claims.name, now });
    await this.em
      .createQueryBuilder(User)
      .insert({ ...fresh, permissions: claims.permissions, isAdmin: claims.isAdmin, claimsIssuedAt: claims.issuedAt })
      .onConflict('subject')
      .ignore()
      .execute();
    return this.em.findOneOrFail(User, { subject: claims.subject });
  }

  private async recordIssue(user: User, issuedAt: Date): Promise<void> {
    await this.em.nativeUpdate(User, { id: user.id, $or: [{ claimsIssuedAt: null }, { claimsIssuedAt: { $lt: issuedAt } }] }, { claimsIssuedAt: issuedAt });
    user.claimsIssuedAt = issuedAt;
  }
}

/** A session without `iat` counts as older than any that has one. */
function issuedNoEarlier(issuedAt: Date | null, recordedFrom: Date | null): boolean {
  if (recordedFrom === null) return true;
  return issuedAt !== null && issuedAt >= recordedFrom;
}

/**
 * The recorded user with the presented (older) session's own claims, never more than the newest
 * session granted: an administrator demoted since keeps no admin power through an old session.
 */
function asPresented(user: User, claims: SessionClaims): UserSnapshot {
  const own = claims.isAdmin ? [ALL_PERMISSIONS] : claims.permissions;
  const newest = user.isAdmin ? [ALL_PERMISSIONS] : user.permissions;
  const isAdmin = claims.isAdmin && user.isAdmin;
  return {
    id: user.id,
    email: claims.email,
    name: claims.name,
    permissions: isAdmin ? [...user.permissions] : intersectPermissions(own, newest),
    isAdmin,
  };
}

function sameClaims(user: User, claims: SessionClaims): boolean {
  return (
    user.email === claims.email &&
    user.name === claims.name &&
    user.isAdmin === claims.isAdmin &&
    user.permissions.length === claims.permissions.length &&
    user.permissions.every((p, i) => p === claims.permissions[i])
  );
}

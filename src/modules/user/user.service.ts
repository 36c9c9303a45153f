import type { EntityManager } from '@mikro-orm/postgresql';
import type { SessionClaims } from '../../auth/session-claims.js';
import { User } from './user.entity.js';

/**
 * Keeps the users table in step with session claims: a row on first sight, an update only when
 * the claims differ from what is recorded, so a steady session costs one read per request.
 */
export class UserService {
  constructor(
    private readonly em: EntityManager,
    /** Told when a known user's recorded claims change (their tokens' bounds changed). */
    private readonly onClaimsChanged: (userId: string) => void = () => {},
  ) {}

  async syncFromClaims(claims: SessionClaims, now: Date): Promise<User> {
    const existing = await this.em.findOne(User, { subject: claims.subject });
    if (existing && sameClaims(existing, claims)) return existing;
    if (existing) {
      existing.email = claims.email;
      existing.name = claims.name;
      existing.permissions = claims.permissions;
      existing.isAdmin = claims.isAdmin;
      existing.updatedAt = now;
      await this.em.flush();
      this.onClaimsChanged(existing.id);
      return existing;
    }
    // Two first requests of a new user may race: the upsert makes both end on the same row.
    const fresh = new User({ subject: claims.subject, email: claims.email, name: claims.name, now });
    return this.em.upsert(
      User,
      { ...fresh, permissions: claims.permissions, isAdmin: claims.isAdmin },
      {
        onConflictFields: ['subject'],
        onConflictAction: 'merge',
        onConflictMergeFields: ['email', 'name', 'permissions', 'isAdmin', 'updatedAt'],
      },
    );
  }
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

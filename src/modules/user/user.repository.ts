import type { EntityManager } from '@mikro-orm/postgresql';
import { escapeLike } from '../common/like.js';
import { User } from './user.entity.js';

/**
 * How an email given by a caller matches the users table: trimmed, case-insensitive, literally (no
 * wildcards). One rule for every lookup by email, and for lists filtered by their owner's email.
 */
export function emailMatch(email: string) {
  return { $ilike: escapeLike(email.trim()) };
}

/** Named queries over users. */
export class UserRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Everyone who has signed in with this email, matched case-insensitively after trimming, the
   * most recently updated first. One email may belong to several identities (subjects): whoever
   * needs one person takes the first; offboarding takes them all.
   */
  byEmail(email: string): Promise<User[]> {
    return this.em.find(User, { email: emailMatch(email) }, { orderBy: { updatedAt: 'desc', id: 'asc' } });
  }

  byId(id: string): Promise<User | null> {
    return this.em.findOne(User, { id });
  }

  byIds(ids: readonly string[]): Promise<User[]> {
    return this.em.find(User, { id: { $in: [...ids] } });
  }
}

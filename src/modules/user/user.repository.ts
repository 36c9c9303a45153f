import type { EntityManager } from '@mikro-orm/postgresql';
import { escapeLike } from '../common/like.js';
import { User } from './user.entity.js';

/** Named queries over users. */
export class UserRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Everyone who has signed in with this email, matched case-insensitively after trimming, the
   * most recently updated first. One email may belong to several identities (subjects): whoever
   * needs one person takes the first; offboarding takes them all.
   */
  byEmail(email: string): Promise<User[]> {
    return this.em.find(User, { email: { $ilike: escapeLike(email.trim()) } }, { orderBy: { updatedAt: 'desc', id: 'asc' } });
  }

  byId(id: string): Promise<User | null> {
    return this.em.findOne(User, { id });
  }

  byIds(ids: readonly string[]): Promise<User[]> {
    return this.em.find(User, { id: { $in: [...ids] } });
  }
}

import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { User } from './user.entity.js';
import { UserRepository } from './user.repository.js';

export function createUserLoaders(em: EntityManager) {
  const users = new UserRepository(em);
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      const byId = new Map((await users.byIds(ids)).map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type UserLoaders = ReturnType<typeof createUserLoaders>;

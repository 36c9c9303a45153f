import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Revocation } from './revocation.entity.js';
import type { Token } from './token.entity.js';
import { TokenRepository } from './token.repository.js';

/** Per-request batch lookups for tokens; results come back in key order, null when absent. */
export function createTokenLoaders(em: EntityManager) {
  const repository = new TokenRepository(em);
  return {
    tokenById: new DataLoader<string, Token | null>(async (ids) => {
      const byId = new Map((await repository.findByIds(ids)).map((t) => [t.id, t]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    childrenOf: new DataLoader<string, Token[]>(async (parentIds) => {
      const children = await repository.childrenOf(parentIds);
      return parentIds.map((id) => children.filter((child) => child.parent?.id === id));
    }),
    revocationByTokenId: new DataLoader<string, Revocation | null>(async (tokenIds) => {
      const byToken = new Map((await repository.revocationsFor(tokenIds)).map((r) => [r.token.id, r]));
      return tokenIds.map((id) => byToken.get(id) ?? null);
    }),
  };
}

export type TokenLoaders = ReturnType<typeof createTokenLoaders>;

import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { Revocation } from './revocation.entity.js';
import { Token } from './token.entity.js';

/** Named queries over tokens. Rules live in the service; SQL shapes live here. */

export interface TokenListFilter {
  ownerId: string;
  includeInactive: boolean;
  search?: string | null;
  tag?: string | null;
  now: Date;
}

/** Position in the newest-first order: (createdAt, id), both descending. */
export interface TokenCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(token: Pick<Token, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([token.createdAt.getTime(), token.id])).toString('base64url');
}

export function decodeCursor(cursor: string): TokenCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [millis, id] = value as [unknown, unknown];
    if (typeof millis !== 'number' || !Number.isFinite(millis) || typeof id !== 'string') return null;
    if (!/^[0-9a-f-]{36}$/.test(id)) return null;
    return { createdAt: new Date(millis), id };
  } catch {
    return null;
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class TokenRepository {
  constructor(private readonly em: EntityManager) {}

  findByIds(ids: readonly string[]): Promise<Token[]> {
    return this.em.find(Token, { id: { $in: [...ids] } });
  }

  /** The token a presented secret belongs to, with its owner, in one statement. */
  findBySecretHash(secretHash: string): Promise<Token | null> {
    return this.em.findOne(Token, { secretHash }, { populate: ['owner'], strategy: 'joined' });
  }

  revocationsFor(tokenIds: readonly string[]): Promise<Revocation[]> {
    return this.em.find(Revocation, { token: { $in: [...tokenIds] } });
  }

  /** One page, newest first, and whether more follow. */
  async page(filter: TokenListFilter, first: number, after: TokenCursor | null) {
    const where = this.where(filter);
    if (after) {
      where.$and!.push({
        $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, id: { $lt: after.id } }],
      });
    }
    const rows = await this.em.find(Token, where, {
      orderBy: { createdAt: 'desc', id: 'desc' },
      limit: first + 1,
    });
    return { tokens: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  count(filter: TokenListFilter): Promise<number> {
    return this.em.count(Token, this.where(filter));
  }

  private where(filter: TokenListFilter): FilterQuery<Token> & { $and: FilterQuery<Token>[] } {
    const and: FilterQuery<Token>[] = [{ owner: filter.ownerId }];
    if (!filter.includeInactive) {
      and.push({ revokedAt: null }, { $or: [{ expiresAt: null }, { expiresAt: { $gt: filter.now } }] });
    }
    const search = filter.search?.trim();
    if (search) {
      const pattern = escapeLike(search);
      and.push({ $or: [{ name: { $ilike: `%${pattern}%` } }, { prefix: { $ilike: `${pattern}%` } }] });
    }
    if (filter.tag) and.push({ tags: { $contains: [filter.tag] } });
    return { $and: and };
  }
}

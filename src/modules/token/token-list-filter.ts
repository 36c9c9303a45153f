import type { FilterQuery } from '@mikro-orm/postgresql';
import { escapeLike } from '../common/like.js';
import { emailMatch } from '../user/user.repository.js';
import type { ManagedTokens } from '../../auth/reach.js';
import type { Token } from './token.entity.js';

/** Which tokens a list shows. Every condition given must hold. */
export interface TokenListFilter {
  ownerId?: string;
  teamId?: string;
  /** Owners whose email matches, case-insensitively (admin search). */
  ownerEmail?: string;
  /** A token and its descendants: what an API token may manage. */
  lineageOf?: string;
  includeInactive: boolean;
  search?: string | null;
  tag?: string | null;
  now: Date;
}

/** Active at `now`: not revoked, and not past its expiry (Token.status's ACTIVE, as a condition). */
export function activeAt(now: Date): FilterQuery<Token> {
  return { revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] };
}

/** The conditions of a token list, for the repository's page, count and expiring-soon queries. */
export function tokenListWhere(filter: TokenListFilter): { $and: FilterQuery<Token>[] } {
  const and: FilterQuery<Token>[] = [];
  if (filter.ownerId) and.push({ owner: filter.ownerId });
  if (filter.teamId) and.push({ team: filter.teamId });
  if (filter.ownerEmail) {
    and.push({ owner: { email: emailMatch(filter.ownerEmail) } });
  }
  if (filter.lineageOf) {
    and.push({ $or: [{ id: filter.lineageOf }, { ancestorIds: { $contains: [filter.lineageOf] } }] });
  }
  if (!filter.includeInactive) {
    and.push(activeAt(filter.now));
  }
  const search = filter.search?.trim();
  if (search) {
    const pattern = escapeLike(search);
    and.push({ $or: [{ name: { $ilike: `%${pattern}%` } }, { prefix: { $ilike: `${pattern}%` } }] });
  }
  if (filter.tag) and.push({ tags: { $contains: [filter.tag] } });
  return { $and: and };
}
/** The list condition for the tokens a caller manages (auth/reach.ts decides which). */
export function managedScope(managed: ManagedTokens): Pick<TokenListFilter, 'ownerId' | 'lineageOf'> {
  switch (managed.kind) {
    case 'all':
      return {};
    case 'lineage':
      return { lineageOf: managed.tokenId };
    case 'owner':
      return { ownerId: managed.userId };
  }
}

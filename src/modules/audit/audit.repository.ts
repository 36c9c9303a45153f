import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { KeysetCursor } from '../common/keyset-page.js';
import { AuditEventSchema, type AuditAction, type AuditEvent } from './audit-event.entity.js';

/** Which events a page shows: all, those about some tokens, or those of an owner's tokens and of some teams. */
export type AuditScope =
  | { kind: 'all' }
  | { kind: 'owner'; userId: string; teamIds: string[] }
  | { kind: 'tokens'; tokenIds: string[] };

export interface AuditFilter {
  action?: AuditAction | null;
  actorId?: string | null;
  tokenId?: string | null;
  teamId?: string | null;
  since?: Date | null;
  until?: Date | null;
}

export class AuditRepository {
  constructor(private readonly em: EntityManager) {}

  async page(scope: AuditScope, filter: AuditFilter, first: number, after: KeysetCursor | null) {
    const where = this.where(scope, filter);
    if (after) {
      where.$and.push({ $or: [{ occurredAt: { $lt: after.at } }, { occurredAt: after.at, id: { $lt: after.id } }] });
    }
    const rows = await this.em.find(AuditEventSchema, where as FilterQuery<AuditEvent>, {
      orderBy: { occurredAt: 'desc', id: 'desc' },
      limit: first + 1,
    });
    return { events: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async count(scope: AuditScope, filter: AuditFilter): Promise<number> {
    return this.em.count(AuditEventSchema, this.where(scope, filter) as FilterQuery<AuditEvent>);
  }

  private where(scope: AuditScope, filter: AuditFilter): { $and: FilterQuery<AuditEvent>[] } {
    const and: FilterQuery<AuditEvent>[] = [];
    if (scope.kind === 'owner') and.push({ $or: [{ ownerId: scope.userId }, { teamId: { $in: scope.teamIds } }] });
    else if (scope.kind === 'tokens') and.push({ tokenId: { $in: scope.tokenIds } });
    if (filter.action) and.push({ action: filter.action });
    if (filter.actorId) and.push({ actorUserId: filter.actorId });
    if (filter.tokenId) and.push({ tokenId: filter.tokenId });
    if (filter.teamId) and.push({ teamId: filter.teamId });
    if (filter.since) and.push({ occurredAt: { $gte: filter.since } });
    if (filter.until) and.push({ occurredAt: { $lt: filter.until } });
    return { $and: and };
  }
}

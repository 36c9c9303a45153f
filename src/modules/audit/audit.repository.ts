import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { KeysetCursor } from '../common/keyset-page.js';
import { TeamMember } from '../team/team-member.entity.js';
import { AuditEventSchema, type AuditAction, type AuditEvent } from './audit-event.entity.js';

/** Whose events a caller may read: all (admins), or those of their tokens and owned teams. */
export type AuditScope =
  | { kind: 'all' }
  | { kind: 'user'; userId: string }
  /** An API token: events about itself and its descendants. */
  | { kind: 'lineage'; tokenId: string };

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
    const where = await this.where(scope, filter);
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
    return this.em.count(AuditEventSchema, (await this.where(scope, filter)) as FilterQuery<AuditEvent>);
  }

  private async where(scope: AuditScope, filter: AuditFilter): Promise<{ $and: FilterQuery<AuditEvent>[] }> {
    const and: FilterQuery<AuditEvent>[] = [];
    if (scope.kind === 'user') {
      const owned = await this.em.find(TeamMember, { user: scope.userId, role: 'OWNER' });
      and.push({ $or: [{ ownerId: scope.userId }, { teamId: { $in: owned.map((m) => m.team.id) } }] });
    } else if (scope.kind === 'lineage') {
      const lineage = await this.em
        .getConnection()
        .execute<{ id: string }[]>(`select id from tokens where id = ? or ancestor_ids @> array[?]::uuid[]`, [scope.tokenId, scope.tokenId]);
      and.push({ tokenId: { $in: lineage.map((row) => row.id) } });
    }
    if (filter.action) and.push({ action: filter.action });
    if (filter.actorId) and.push({ actorUserId: filter.actorId });
    if (filter.tokenId) and.push({ tokenId: filter.tokenId });
    if (filter.teamId) and.push({ teamId: filter.teamId });
    if (filter.since) and.push({ occurredAt: { $gte: filter.since } });
    if (filter.until) and.push({ occurredAt: { $lt: filter.until } });
    return { $and: and };
  }
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditReach } from '../../auth/reach.js';
import type { KeysetCursor } from '../common/keyset-page.js';
import { MembershipRepository } from '../team/membership.repository.js';
import { TokenRepository } from '../token/token.repository.js';
import { AuditRepository, type AuditFilter, type AuditScope } from './audit.repository.js';

/**
 * Reading the audit trail: the events a caller may read (auth/reach.ts says whose), newest first.
 * Whose events those are is resolved here into plain ids, so the audit repository queries only
 * its own table.
 */
export class AuditTrail {
  private readonly events: AuditRepository;

  constructor(private readonly em: EntityManager) {
    this.events = new AuditRepository(em);
  }

  /** One page, and how to count every match: whose events those are is looked up once for both. */
  async page(reach: AuditReach, filter: AuditFilter, first: number, after: KeysetCursor | null) {
    const scope = await this.scopeOf(reach);
    const page = await this.events.page(scope, filter, first, after);
    return { ...page, count: () => this.events.count(scope, filter) };
  }

  private async scopeOf(reach: AuditReach): Promise<AuditScope> {
    switch (reach.kind) {
      case 'all':
        return { kind: 'all' };
      case 'lineage':
        return { kind: 'tokens', tokenIds: await new TokenRepository(this.em).lineageIds(reach.tokenId) };
      case 'user':
        return { kind: 'owner', userId: reach.userId, teamIds: await new MembershipRepository(this.em).ownedTeamIds(reach.userId) };
    }
  }
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { Team } from './team.entity.js';

/** The one owner of the `teams` table. */
export class TeamRepository {
  constructor(private readonly em: EntityManager) {}

  byIds(ids: readonly string[]): Promise<Team[]> {
    return this.em.find(Team, { id: { $in: [...ids] } });
  }

  /**
   * A live team, its row locked until the caller's transaction ends: every membership change
   * takes this lock first, so two owners acting at once cannot leave a team without an owner.
   */
  async lockLive(teamId: string): Promise<Team | null> {
    const rows = await this.em
      .getConnection()
      .execute(`select id from teams where id = ? and deleted_at is null for update`, [teamId], 'all', this.em.getTransactionContext());
    return rows.length === 0 ? null : this.em.findOneOrFail(Team, { id: teamId });
  }
}

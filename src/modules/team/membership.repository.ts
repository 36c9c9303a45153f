import type { EntityManager } from '@mikro-orm/postgresql';
import type { TeamRole } from '../../auth/principal.js';
import { TeamMember } from './team-member.entity.js';

/**
 * The one owner of `team_members`, with the two readings of a membership, each named for what it
 * decides:
 * - `roleIn`: what a role grants from now on (minting in a team, a token's bounds at verification):
 *   only a membership of a live team counts. A deleted team grants nothing.
 * - `membershipsOf`: what the caller may read and manage of what already exists (the scopes, by
 *   way of the request's loader): a deleted team's members keep seeing its revoked tokens and its
 *   history, and its owners keep managing them (there is nothing left to change but nothing hidden).
 */
export class MembershipRepository {
  constructor(private readonly em: EntityManager) {}

  /** What the user may do in the team: their role, or null when they are not a member or the team is deleted. */
  async roleIn(userId: string, teamId: string): Promise<TeamRole | null> {
    const membership = await this.em.findOne(TeamMember, { team: { id: teamId, deletedAt: null }, user: userId });
    return membership?.role ?? null;
  }

  /** The user's memberships of these teams, deleted teams included, in one statement. */
  async membershipsOf(userId: string, teamIds: readonly string[]): Promise<Map<string, TeamMember>> {
    const rows = await this.em.find(TeamMember, { team: { $in: [...teamIds] }, user: userId });
    return new Map(rows.map((m) => [m.team.id, m]));
  }

  /** The members of each team, oldest first. */
  async membersOf(teamIds: readonly string[]): Promise<TeamMember[]> {
    return this.em.find(TeamMember, { team: { $in: [...teamIds] } }, { orderBy: { joinedAt: 'asc' } });
  }

  /** The user's memberships with their teams (deleted ones too), oldest first, in one statement. */
  teamsOf(userId: string): Promise<TeamMember[]> {
    return this.em.find(TeamMember, { user: userId }, { populate: ['team'], orderBy: { joinedAt: 'asc' } });
  }

  /** The teams the user owns, deleted ones too: their audit trail stays the owner's to read. */
  async ownedTeamIds(userId: string): Promise<string[]> {
    const owned = await this.em.find(TeamMember, { user: userId, role: 'OWNER' });
    return owned.map((m) => m.team.id);
  }

  find(teamId: string, userId: string): Promise<TeamMember | null> {
    return this.em.findOne(TeamMember, { team: teamId, user: userId });
  }

  countOwners(teamId: string): Promise<number> {
    return this.em.count(TeamMember, { team: teamId, role: 'OWNER' });
  }
}

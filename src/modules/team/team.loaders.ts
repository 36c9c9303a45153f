import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Team } from './team.entity.js';
import { TeamMember } from './team-member.entity.js';

export function createTeamLoaders(em: EntityManager, viewerId: string | null) {
  return {
    teamById: new DataLoader<string, Team | null>(async (ids) => {
      const byId = new Map((await em.find(Team, { id: { $in: [...ids] } })).map((t) => [t.id, t]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    membersOf: new DataLoader<string, TeamMember[]>(async (teamIds) => {
      const rows = await em.find(TeamMember, { team: { $in: [...teamIds] } }, { orderBy: { joinedAt: 'asc' } });
      return teamIds.map((id) => rows.filter((m) => m.team.id === id));
    }),
    membership: new DataLoader<string, TeamMember | null>(async (teamIds) => {
      if (!viewerId) return teamIds.map(() => null);
      const rows = await em.find(TeamMember, { team: { $in: [...teamIds] }, user: viewerId });
      const byTeam = new Map(rows.map((m) => [m.team.id, m]));
      return teamIds.map((id) => byTeam.get(id) ?? null);
    }),
  };
}

/** The viewer's memberships with their teams, in one statement. */
export function teamsOf(em: EntityManager, userId: string): Promise<TeamMember[]> {
  return em.find(TeamMember, { user: userId }, { populate: ['team'], orderBy: { joinedAt: 'asc' } });
}

export type TeamLoaders = ReturnType<typeof createTeamLoaders>;

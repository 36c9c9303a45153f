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
    membership: new DataLoader<string, TeamMember | null>(async (teamIds) => {
      if (!viewerId) return teamIds.map(() => null);
      const rows = await em.find(TeamMember, { team: { $in: [...teamIds] }, user: viewerId });
      const byTeam = new Map(rows.map((m) => [m.team.id, m]));
      return teamIds.map((id) => byTeam.get(id) ?? null);
    }),
  };
}

export type TeamLoaders = ReturnType<typeof createTeamLoaders>;

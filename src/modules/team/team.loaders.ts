import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Team } from './team.entity.js';
import { TeamRepository } from './team.repository.js';
import type { TeamMember } from './team-member.entity.js';
import { MembershipRepository } from './membership.repository.js';

export function createTeamLoaders(em: EntityManager, viewerId: string | null) {
  const memberships = new MembershipRepository(em);
  return {
    teamById: new DataLoader<string, Team | null>(async (ids) => {
      const byId = new Map((await new TeamRepository(em).byIds(ids)).map((t) => [t.id, t]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    membersOf: new DataLoader<string, TeamMember[]>(async (teamIds) => {
      const rows = await memberships.membersOf(teamIds);
      return teamIds.map((id) => rows.filter((m) => m.team.id === id));
    }),
    /** The viewer's membership of each team (a deleted team's too), null when not a member. */
    membership: new DataLoader<string, TeamMember | null>(async (teamIds) => {
      if (!viewerId) return teamIds.map(() => null);
      const byTeam = await memberships.membershipsOf(viewerId, teamIds);
      return teamIds.map((id) => byTeam.get(id) ?? null);
    }),
  };
}

export type TeamLoaders = ReturnType<typeof createTeamLoaders>;

import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Team } from './team.entity.js';

export function createTeamLoaders(em: EntityManager) {
  return {
    teamById: new DataLoader<string, Team | null>(async (ids) => {
      const byId = new Map((await em.find(Team, { id: { $in: [...ids] } })).map((t) => [t.id, t]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type TeamLoaders = ReturnType<typeof createTeamLoaders>;

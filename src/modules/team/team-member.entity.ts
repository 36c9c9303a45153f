import { EntitySchema, type Ref } from '@mikro-orm/core';
import type { Team } from './team.entity.js';
import type { User } from '../user/user.entity.js';
import type { TeamRole } from '../../auth/principal.js';


/** A user's membership of a team, with the role that decides what they may do there. */
export class TeamMember {
  team!: Ref<Team>;
  user!: Ref<User>;
  role!: TeamRole;
  joinedAt!: Date;
}

export const TeamMemberSchema = new EntitySchema<TeamMember>({
  class: TeamMember,
  tableName: 'team_members',
  properties: {
    team: { kind: 'm:1', entity: 'Team', primary: true, ref: true, deleteRule: 'cascade' },
    user: { kind: 'm:1', entity: 'User', primary: true, ref: true, index: 'team_members_user_index' },
    role: { type: 'text', enum: true, items: ['OWNER', 'MEMBER'] },
    joinedAt: { type: 'Date', columnType: 'timestamptz(3)' },
  },
});

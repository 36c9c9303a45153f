import { builder } from '../../builder.js';
import { parseGlobalId } from '../../global-id.js';
import { nullIfHidden } from '../../errors/errors.js';
import { Team } from './team.entity.js';
import type { TeamMember } from './team-member.entity.js';

export const TeamRoleEnum = builder.enumType('TeamRole', {
  values: {
    OWNER: { description: 'Manages the team, its members and every team token.' },
    MEMBER: { description: 'Mints, sees and revokes their own team tokens.' },
  } as const,
});

export const TeamMemberRef = builder.objectRef<TeamMember>('TeamMember').implement({
  fields: (t) => ({
    user: t.field({ type: 'User', resolve: async (member, _args, ctx) => (await ctx.loaders.userById.load(member.user.id))! }),
    role: t.field({ type: TeamRoleEnum, resolve: (member) => member.role }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime' }),
  }),
});

builder.node('Team', {
  description: 'A group of users that owns tokens together. Visible to its members (and administrators).',
  id: { resolve: (team) => team.id },
  isTypeOf: (value) => value instanceof Team,
  // node(id): a team the caller does not belong to is simply absent.
  loadOne: async (id, ctx) => {
    const team = await ctx.loaders.teamById.load(id);
    return team && (await ctx.authScopes.teamMember(team)) ? team : null;
  },
  fields: (t) => ({
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    viewerRole: t.field({
      type: TeamRoleEnum,
      nullable: true,
      description: "The caller's role; null for an administrator who is not a member.",
      resolve: async (team, _args, ctx) => (await ctx.loaders.membership.load(team.id))?.role ?? null,
    }),
    members: t.field({
      type: [TeamMemberRef],
      description: 'Oldest first.',
      resolve: (team, _args, ctx) => ctx.loaders.membersOf.load(team.id),
    }),
  }),
});


builder.queryFields((t) => ({
  team: t.field({
    type: 'Team',
    nullable: true,
    description: 'A team by id; null unless the caller is a member (or an administrator).',
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ authenticated: true, teamMember: args.id }),
    unauthorizedResolver: (_root, _args, _ctx, _info, error) => nullIfHidden(error),
    resolve: (_root, args, ctx) => ctx.loaders.teamById.load(parseGlobalId('Team', args.id)!),
  }),
  teams: t.field({
    type: ['Team'],
    description: "The caller's teams, oldest membership first.",
    authScopes: { authenticated: true },
    resolve: async (_root, _args, ctx) => {
      const memberships = await ctx.loaders.teamsOfViewer();
      return memberships.map((m) => m.team.getEntity()).filter((team) => team.deletedAt === null);
    },
  }),
}));

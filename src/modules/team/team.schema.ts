import { builder } from '../../builder.js';
import { Team } from './team.entity.js';
import { TeamMember } from './team-member.entity.js';

builder.node('Team', {
  description: 'A group of users that owns tokens together.',
  id: { resolve: (team) => team.id },
  isTypeOf: (value) => value instanceof Team,
  // Visible to its members only; anyone else gets null, as for an id that does not exist.
  loadOne: async (id, ctx) => {
    if (!ctx.principal) return null;
    const membership = await ctx.em.findOne(
      TeamMember,
      { team: id, user: ctx.principal.user.id },
      { populate: ['team'] },
    );
    return membership ? membership.team.getEntity() : null;
  },
  fields: (t) => ({
    name: t.exposeString('name'),
  }),
});

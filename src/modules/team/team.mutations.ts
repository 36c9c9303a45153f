import { builder } from '../../builder.js';
import { parseGlobalId } from '../../global-id.js';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError } from '../../errors/errors.js';
import type { Team } from './team.entity.js';
import type { TeamMember } from './team-member.entity.js';
import { TeamMemberRef, TeamRoleEnum } from './team.schema.js';

const ERRORS = [ValidationError, ConflictError, NotFoundError, ForbiddenError, RateLimitedError];

const CreateTeamInput = builder.inputType('CreateTeamInput', {
  fields: (t) => ({ name: t.string({ required: true, description: '1-64 characters; the slug is derived from it.' }) }),
});

const AddTeamMemberInput = builder.inputType('AddTeamMemberInput', {
  fields: (t) => ({
    teamId: t.id({ required: true }),
    email: t.string({ required: true, description: 'Of someone who has signed in to Keymint at least once.' }),
    role: t.field({ type: TeamRoleEnum, defaultValue: 'MEMBER' }),
  }),
});

const UpdateTeamMemberRoleInput = builder.inputType('UpdateTeamMemberRoleInput', {
  fields: (t) => ({
    teamId: t.id({ required: true }),
    userId: t.id({ required: true }),
    role: t.field({ type: TeamRoleEnum, required: true }),
  }),
});

const RemoveTeamMemberInput = builder.inputType('RemoveTeamMemberInput', {
  description: 'Owners remove anyone (a team keeps at least one owner); a member may remove themselves.',
  fields: (t) => ({ teamId: t.id({ required: true }), userId: t.id({ required: true }) }),
});

const DeleteTeamInput = builder.inputType('DeleteTeamInput', {
  description: 'Give teamId (or id).',
  fields: (t) => ({ teamId: t.id(), id: t.id({ description: 'The same as teamId.' }) }),
});

const teamPayload = (name: string) =>
  builder.objectRef<{ team: Team }>(name).implement({
    fields: (t) => ({ team: t.field({ type: 'Team', resolve: (payload) => payload.team }) }),
  });

const memberPayload = (name: string) =>
  builder.objectRef<{ team: Team; member: TeamMember }>(name).implement({
    fields: (t) => ({
      team: t.field({ type: 'Team', resolve: (payload) => payload.team }),
      member: t.field({ type: TeamMemberRef, resolve: (payload) => payload.member }),
    }),
  });

const CreateTeamPayload = teamPayload('CreateTeamPayload');
const AddTeamMemberPayload = memberPayload('AddTeamMemberPayload');
const UpdateTeamMemberRolePayload = memberPayload('UpdateTeamMemberRolePayload');
const RemoveTeamMemberPayload = teamPayload('RemoveTeamMemberPayload');
const DeleteTeamPayload = teamPayload('DeleteTeamPayload');

/** Ids that cannot be a team or a user never match one: the same NotFoundError as a missing one. */
const NO_ID = '00000000-0000-0000-0000-000000000000';
const teamDbId = (id: string) => parseGlobalId('Team', id) ?? NO_ID;
const userDbId = (id: string) => parseGlobalId('User', id) ?? NO_ID;

function deleteTarget(input: { teamId?: string | null; id?: string | null }): string {
  const id = input.teamId ?? input.id;
  if (!id) throw ValidationError.forField(['teamId'], 'teamId is required');
  return id;
}

builder.mutationFields((t) => ({
  createTeam: t.field({
    type: CreateTeamPayload,
    description: 'Creates a team; the caller becomes its OWNER.',
    args: { input: t.arg({ type: CreateTeamInput, required: true }) },
    errors: { types: ERRORS, directResult: true, union: { name: 'CreateTeamResult' } },
    rateLimit: 'change',
    complexity: 10,
    authScopes: { authenticated: true, session: true },
    resolve: async (_root, { input }, ctx) => ({ team: await ctx.teams.create(ctx.caller(), input.name) }),
  }),

  addTeamMember: t.field({
    type: AddTeamMemberPayload,
    description: 'Owners only.',
    args: { input: t.arg({ type: AddTeamMemberInput, required: true }) },
    errors: { types: ERRORS, directResult: true, union: { name: 'AddTeamMemberResult' } },
    rateLimit: 'change',
    complexity: 10,
    authScopes: (_root, { input }) => ({ authenticated: true, session: true, teamMember: input.teamId, teamOwner: input.teamId }),
    resolve: (_root, { input }, ctx) => ctx.teams.addMember(teamDbId(input.teamId), input.email, input.role ?? 'MEMBER'),
  }),

  updateTeamMemberRole: t.field({
    type: UpdateTeamMemberRolePayload,
    description: 'Owners only. A team always keeps at least one owner.',
    args: { input: t.arg({ type: UpdateTeamMemberRoleInput, required: true }) },
    errors: { types: ERRORS, directResult: true, union: { name: 'UpdateTeamMemberRoleResult' } },
    rateLimit: 'change',
    complexity: 10,
    authScopes: (_root, { input }) => ({ authenticated: true, session: true, teamMember: input.teamId, teamOwner: input.teamId }),
    resolve: (_root, { input }, ctx) => ctx.teams.updateRole(teamDbId(input.teamId), userDbId(input.userId), input.role),
  }),

  removeTeamMember: t.field({
    type: RemoveTeamMemberPayload,
    description: 'Revokes the member’s tokens in the team (reason "Removed from team").',
    args: { input: t.arg({ type: RemoveTeamMemberInput, required: true }) },
    errors: { types: ERRORS, directResult: true, union: { name: 'RemoveTeamMemberResult' } },
    rateLimit: 'change',
    complexity: 10,
    authScopes: (_root, { input }) => ({
      authenticated: true,
      session: true,
      teamMember: input.teamId,
      memberRemovable: { teamId: input.teamId, userId: input.userId },
    }),
    resolve: async (_root, { input }, ctx) => ({
      team: await ctx.teams.removeMember(teamDbId(input.teamId), userDbId(input.userId)),
    }),
  }),

  deleteTeam: t.field({
    type: DeleteTeamPayload,
    description: 'Owners only. Revokes every team token; the team is hidden, its history kept.',
    args: { input: t.arg({ type: DeleteTeamInput, required: true }) },
    errors: { types: ERRORS, directResult: true, union: { name: 'DeleteTeamResult' } },
    rateLimit: 'change',
    complexity: 10,
    authScopes: (_root, { input }) => {
      const id = input.teamId ?? input.id;
      // No id at all: the resolver says so (ValidationError).
      if (!id) return { authenticated: true, session: true };
      return { authenticated: true, session: true, teamMember: id, teamOwner: id };
    },
    resolve: async (_root, { input }, ctx) => ({
      team: await ctx.teams.delete(teamDbId(deleteTarget(input))),
    }),
  }),
}));

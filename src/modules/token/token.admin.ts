import { builder } from '../../builder.js';
import { parseGlobalId } from '../../global-id.js';
import { ForbiddenError, NotFoundError, RateLimitedError, ValidationError } from '../common/errors.js';
import { User } from '../user/user.entity.js';
import { escapeLike } from '../common/like.js';
import { RevokeTokenResult } from './token.mutations.js';
import { Token } from './token.entity.js';
import { tokenPage, TokenConnection } from './token.schema.js';
import { pageComplexity } from '../common/keyset-page.js';
import { DEFAULT_REVOKE_REASON } from './token.service.js';

/**
 * Oversight: an administrator finds and kills any token in the instance, and offboards a user in
 * one call; every user has a panic button for their own tokens.
 */

const AdminRevokeTokenInput = builder.inputType('AdminRevokeTokenInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    reason: t.string({ description: 'Default "Revoked by admin <email>".' }),
  }),
});

const AdminRevokeUserTokensInput = builder.inputType('AdminRevokeUserTokensInput', {
  fields: (t) => ({
    userEmail: t.string({ required: true }),
    reason: t.string({ description: 'Default "Revoked by admin <email>".' }),
  }),
});

const RevokeAllMyTokensInput = builder.inputType('RevokeAllMyTokensInput', {
  fields: (t) => ({ reason: t.string({ description: `Default "${DEFAULT_REVOKE_REASON}".` }) }),
});

const AdminRevokeUserTokensPayload = builder
  .objectRef<{ revokedCount: number; userEmail: string }>('AdminRevokeUserTokensPayload')
  .implement({
    fields: (t) => ({ revokedCount: t.exposeInt('revokedCount'), userEmail: t.exposeString('userEmail') }),
  });

const RevokeAllMyTokensPayload = builder.objectRef<{ revokedCount: number }>('RevokeAllMyTokensPayload').implement({
  fields: (t) => ({ revokedCount: t.exposeInt('revokedCount') }),
});

const adminReason = (email: string) => `Revoked by admin ${email}`;

builder.queryField('adminTokens', (t) =>
  t.field({
    type: TokenConnection,
    description: 'Every token in the instance, newest first. Administrators only.',
    complexity: pageComplexity,
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      userEmail: t.arg.string({ description: "Only this user's tokens (case-insensitive)." }),
      teamId: t.arg.id(),
      includeInactive: t.arg.boolean({ defaultValue: false }),
      search: t.arg.string(),
    },
    authScopes: { authenticated: true, admin: true },
    resolve: (_root, args, ctx, info) => {
      const scope = {
        ...(args.userEmail ? { ownerEmail: args.userEmail.trim() } : {}),
        // A team id that cannot be one matches no team.
        ...(args.teamId ? { teamId: parseGlobalId('Team', args.teamId) ?? '00000000-0000-0000-0000-000000000000' } : {}),
      };
      return tokenPage(ctx, scope, args, info);
    },
  }),
);

builder.mutationFields((t) => ({
  adminRevokeToken: t.field({
    type: RevokeTokenResult,
    description: 'Revokes any token (and every token it minted). Administrators only.',
    args: { input: t.arg({ type: AdminRevokeTokenInput, required: true }) },
    authScopes: { authenticated: true, admin: true },
    rateLimit: 'change',
    complexity: 10,
    resolve: async (_root, { input }, ctx) => {
      const id = parseGlobalId('Token', input.id);
      const token = id ? await ctx.em.findOne(Token, { id }) : null;
      if (!token) throw new NotFoundError('Token not found');
      const principal = ctx.principal!;
      return { token: await ctx.tokens.revoke(token, input.reason, adminReason(principal.user.email)) };
    },
  }),

  adminRevokeUserTokens: t.field({
    type: AdminRevokeUserTokensPayload,
    description: "Revokes every token of a user (offboarding). Administrators only.",
    args: { input: t.arg({ type: AdminRevokeUserTokensInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, RateLimitedError],
      directResult: true,
      union: { name: 'AdminRevokeUserTokensResult' },
    },
    authScopes: { authenticated: true, admin: true },
    rateLimit: 'change',
    complexity: 50,
    resolve: async (_root, { input }, ctx) => {
      const principal = ctx.principal!;
      const reason = ctx.tokens.reasonOr(input.reason, adminReason(principal.user.email));
      const users = await ctx.em.find(User, { email: { $ilike: escapeLike(input.userEmail.trim()) } });
      if (users.length === 0) throw new NotFoundError('No user with this email');
      let revokedCount = 0;
      for (const user of users) {
        revokedCount += await ctx.tokens.revokeAll({ kind: 'owner', ownerId: user.id }, reason);
      }
      return { revokedCount, userEmail: users[0]!.email };
    },
  }),

  revokeAllMyTokens: t.field({
    type: RevokeAllMyTokensPayload,
    description: "The panic button: revokes every token of the caller (an API token: itself and its descendants).",
    args: { input: t.arg({ type: RevokeAllMyTokensInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError, RateLimitedError], directResult: true, union: { name: 'RevokeAllMyTokensResult' } },
    authScopes: { authenticated: true, tokenPermission: 'tokens.revoke' },
    rateLimit: 'change',
    complexity: 50,
    resolve: async (_root, { input }, ctx) => {
      const principal = ctx.principal!;
      const reason = ctx.tokens.reasonOr(input.reason, DEFAULT_REVOKE_REASON);
      const target = principal.token
        ? ({ kind: 'lineage', of: principal.token.id } as const)
        : ({ kind: 'owner', ownerId: principal.user.id } as const);
      return { revokedCount: await ctx.tokens.revokeAll(target, reason) };
    },
  }),
}));

import { builder } from '../../builder.js';
import { parseGlobalId } from '../../global-id.js';
import { managedTokens } from '../../auth/reach.js';
import { ForbiddenError, NotFoundError, RateLimitedError, ValidationError } from '../../errors/errors.js';
import { RevokeTokenResult } from './token.mutations.js';
import { tokenPage, TokenConnection } from './token.schema.js';
import { pageComplexity } from '../common/keyset-page.js';
import { DEFAULT_REVOKE_REASON } from './token-revocation.js';

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
        ...(args.userEmail ? { ownerEmail: args.userEmail } : {}),
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
      if (!id) throw new NotFoundError('Token not found');
      return { token: await ctx.tokens.revokeById(id, input.reason, adminReason(ctx.caller().user.email)) };
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
    resolve: (_root, { input }, ctx) => ctx.revocations.revokeAllOfEmail(input.userEmail, input.reason, adminReason(ctx.caller().user.email)),
  }),

  revokeAllMyTokens: t.field({
    type: RevokeAllMyTokensPayload,
    description: "The panic button: revokes every token of the caller (an API token: itself and its descendants).",
    args: { input: t.arg({ type: RevokeAllMyTokensInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError, RateLimitedError], directResult: true, union: { name: 'RevokeAllMyTokensResult' } },
    authScopes: { authenticated: true, tokenPermission: 'tokens.revoke' },
    rateLimit: 'change',
    complexity: 50,
    resolve: async (_root, { input }, ctx) => ({ revokedCount: await ctx.revocations.revokeManaged(managedTokens(ctx.caller()), input.reason) }),
  }),
}));

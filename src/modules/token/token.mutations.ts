import { builder } from '../../builder.js';
import { parseGlobalId } from '../../global-id.js';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError } from '../../errors/errors.js';
import { MAX_LEAK_REPORT } from './leak-reports.js';
import type { Token } from './token.entity.js';
import { DayOfWeekEnum, TokenRef } from './token.schema.js';

const TimeRestrictionsInput = builder.inputType('TimeRestrictionsInput', {
  description: 'When the token may be used. Give daysOfWeek, a startTime/endTime window, or both.',
  fields: (t) => ({
    daysOfWeek: t.field({ type: [DayOfWeekEnum] }),
    startTime: t.string({ description: '"HH:MM" (24-hour), in timeZone.' }),
    endTime: t.string({ description: '"HH:MM"; before startTime means the window crosses midnight.' }),
    timeZone: t.string({ description: 'IANA time zone (default UTC).' }),
  }),
});

const UsageLimitsInput = builder.inputType('UsageLimitsInput', {
  description: 'Positive whole numbers; leave a limit out for none of that kind.',
  fields: (t) => ({
    requestsPerMinute: t.int(),
    requestsPerHour: t.int(),
    requestsPerDay: t.int(),
    maxTotalRequests: t.int({ description: 'Lifetime total.' }),
  }),
});

const MintTokenInput = builder.inputType('MintTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1-64 characters, unique among your active tokens.' }),
    description: t.string({ description: 'At most 500 characters.' }),
    expiresInDays: t.int({ description: '1..MAX_TOKEN_LIFETIME_DAYS. Give this or expiresAt.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'A future instant within the maximum lifetime.' }),
    teamId: t.id({ description: 'Mint a team token in a team you belong to.' }),
    ownerId: t.id({ description: 'A team owner may mint a team token for a member (needs teamId); it is bounded by both.' }),
    permissions: t.stringList({
      description: 'Each "*" or "category.action" ("category.*" allowed), all held by you. Empty: inherit yours at use.',
    }),
    serverId: t.string({ description: 'Bind the token to one server (at most 128 characters).' }),
    ipRestrictions: t.stringList({ description: 'IPv4/IPv6 addresses or CIDR ranges.' }),
    tags: t.stringList({ description: 'Up to 20 tags of 1-32 characters.' }),
    timeRestrictions: t.field({ type: TimeRestrictionsInput }),
    usageLimits: t.field({ type: UsageLimitsInput }),
  }),
});

const UpdateTokenInput = builder.inputType('UpdateTokenInput', {
  description:
    'Only the fields given change. For description, serverId, expiresAt, timeRestrictions and usageLimits, null clears the value.',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    description: t.string(),
    expiresInDays: t.int({ description: 'A new expiry, counted from now.' }),
    expiresAt: t.field({ type: 'DateTime' }),
    permissions: t.stringList(),
    serverId: t.string(),
    ipRestrictions: t.stringList(),
    tags: t.stringList(),
    timeRestrictions: t.field({ type: TimeRestrictionsInput }),
    usageLimits: t.field({ type: UsageLimitsInput }),
  }),
});

const RevokeTokenInput = builder.inputType('RevokeTokenInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    reason: t.string({ description: 'At most 500 characters (default "Revoked by user").' }),
  }),
});

const MintTokenPayload = builder.objectRef<{ token: Token; secret: string }>('MintTokenPayload').implement({
  fields: (t) => ({
    token: t.field({ type: TokenRef, resolve: (payload) => payload.token }),
    secret: t.exposeString('secret', {
      description: 'The token itself. Shown only in this response: store it now; Keymint keeps only a hash.',
    }),
  }),
});

const UpdateTokenPayload = builder.objectRef<{ token: Token }>('UpdateTokenPayload').implement({
  fields: (t) => ({ token: t.field({ type: TokenRef, resolve: (payload) => payload.token }) }),
});

const RevokeTokenPayload = builder.objectRef<{ token: Token }>('RevokeTokenPayload').implement({
  isTypeOf: (value) => !(value instanceof Error) && typeof value === 'object' && value !== null && 'token' in value,
  fields: (t) => ({ token: t.field({ type: TokenRef, resolve: (payload) => payload.token }) }),
});

/**
 * One union for revokeToken and adminRevokeToken: the errors plugin names a union per field, and
 * two types cannot share a name. Declaring its error types on the union lets the plugin catch
 * them on every field that returns it, as it does for its own unions.
 */
export const RevokeTokenResult = builder.unionType('RevokeTokenResult', {
  types: [RevokeTokenPayload, NotFoundError, ForbiddenError, ValidationError, RateLimitedError],
  extensions: { pothosErrorTypes: [NotFoundError, ForbiddenError, ValidationError, RateLimitedError] },
});

const RotateTokenInput = builder.inputType('RotateTokenInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    gracePeriodSeconds: t.int({
      defaultValue: 0,
      description: 'How long the old secret keeps working: 0 (default) to 2592000 (30 days), never past the expiry.',
    }),
    expectedPrefix: t.string({ description: 'Rotate only if the current secret has this prefix (compare-and-swap).' }),
  }),
});

const RotateTokenPayload = builder.objectRef<{ token: Token; secret: string }>('RotateTokenPayload').implement({
  fields: (t) => ({
    token: t.field({ type: TokenRef, resolve: (payload) => payload.token }),
    secret: t.exposeString('secret', { description: 'The new secret. Shown only in this response.' }),
  }),
});

const ReportLeakedTokensInput = builder.inputType('ReportLeakedTokensInput', {
  fields: (t) => ({ tokens: t.stringList({ required: true, description: `Up to ${MAX_LEAK_REPORT} strings that may be Keymint tokens.` }) }),
});

const ReportLeakedTokensPayload = builder.objectRef<{ received: number }>('ReportLeakedTokensPayload').implement({
  description: 'The same whatever was found: the report cannot be used to test tokens.',
  fields: (t) => ({ received: t.exposeInt('received') }),
});

/** Loads a token the mutation's scopes have already found visible (the load is cached). */
async function visibleToken(ctx: { loaders: { tokenById: { load(id: string): Promise<Token | null> } } }, id: string) {
  const token = await ctx.loaders.tokenById.load(parseGlobalId('Token', id)!);
  if (!token) throw new NotFoundError('Token not found');
  return token;
}

builder.mutationFields((t) => ({
  mintToken: t.field({
    type: MintTokenPayload,
    description: 'Creates an API token. The secret is in this response and nowhere else, ever.',
    args: { input: t.arg({ type: MintTokenInput, required: true }) },
    errors: {
      types: [ValidationError, ConflictError, ForbiddenError, NotFoundError, RateLimitedError],
      directResult: true,
      union: { name: 'MintTokenResult' },
    },
    authScopes: { authenticated: true, tokenPermission: 'tokens.create' },
    rateLimit: 'mint',
    complexity: 20,
    resolve: async (_root, { input }, ctx) => {
      const teamId = input.teamId == null ? null : parseGlobalId('Team', input.teamId);
      if (input.teamId != null && !teamId) throw new NotFoundError('Team not found');
      const ownerId = input.ownerId == null ? null : parseGlobalId('User', input.ownerId);
      if (input.ownerId != null && !ownerId) throw new NotFoundError('No such member in this team');
      return ctx.tokens.mint(ctx.caller(), { ...input, teamId, ownerId });
    },
  }),

  updateToken: t.field({
    type: UpdateTokenPayload,
    description: 'Changes an active token. Revoked and expired tokens cannot be changed.',
    args: { input: t.arg({ type: UpdateTokenInput, required: true }) },
    errors: {
      types: [ValidationError, ConflictError, NotFoundError, ForbiddenError, RateLimitedError],
      directResult: true,
      union: { name: 'UpdateTokenResult' },
    },
    rateLimit: 'change',
    complexity: 10,
    authScopes: (_root, { input }) => ({
      authenticated: true,
      tokenPermission: 'tokens.update',
      tokenVisible: input.id,
      tokenChangeable: input.id,
    }),
    resolve: async (_root, { input }, ctx) => {
      const { id, ...changes } = input;
      const token = await visibleToken(ctx, id);
      return { token: await ctx.tokens.update(ctx.caller(), token, changes) };
    },
  }),

  rotateToken: t.field({
    type: RotateTokenPayload,
    description:
      "Gives a token a new secret, keeping everything else; the old one lives for the grace period. Only the token's owner, or an API token of its own lineage holding tokens.update.",
    args: { input: t.arg({ type: RotateTokenInput, required: true }) },
    errors: {
      types: [ValidationError, ConflictError, NotFoundError, ForbiddenError, RateLimitedError],
      directResult: true,
      union: { name: 'RotateTokenResult' },
    },
    rateLimit: 'mint',
    complexity: 20,
    authScopes: (_root, { input }) => ({
      authenticated: true,
      tokenPermission: 'tokens.update',
      tokenVisible: input.id,
      tokenRotatable: input.id,
    }),
    resolve: async (_root, { input }, ctx) => {
      const token = await visibleToken(ctx, input.id);
      return ctx.tokens.rotate(token, { gracePeriodSeconds: input.gracePeriodSeconds ?? 0, expectedPrefix: input.expectedPrefix });
    },
  }),

  reportLeakedTokens: t.field({
    type: ReportLeakedTokensPayload,
    description: 'Anyone may report leaked tokens, without credentials: every live one is revoked at once.',
    args: { input: t.arg({ type: ReportLeakedTokensInput, required: true }) },
    // Limited per client address (it needs no credentials), not per caller.
    errors: { types: [ValidationError, RateLimitedError], directResult: true, union: { name: 'ReportLeakedTokensResult' } },
    complexity: (args) => 10 + Math.ceil((args.input?.tokens?.length ?? 0) / 10),
    // Whoever calls, a leak report acts anonymously: revokedBy "leak-report".
    resolve: (_root, { input }, ctx) => ctx.leaks.report(input.tokens, ctx.request),
  }),

  revokeToken: t.field({
    type: RevokeTokenResult,
    description: 'Revokes a token and every token it minted, at once. Revoking again returns the first revocation.',
    args: { input: t.arg({ type: RevokeTokenInput, required: true }) },
    authScopes: (_root, { input }) => ({
      authenticated: true,
      tokenPermission: 'tokens.revoke',
      tokenVisible: input.id,
    }),
    rateLimit: 'change',
    complexity: 10,
    resolve: async (_root, { input }, ctx) => {
      const token = await visibleToken(ctx, input.id);
      return { token: await ctx.tokens.revoke(token, input.reason) };
    },
  }),
}));

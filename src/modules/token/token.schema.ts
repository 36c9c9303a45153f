import { builder } from '../../builder.js';
import { managedTokens } from '../../auth/reach.js';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../context.js';
import { parseGlobalId } from '../../global-id.js';
import { BadUserInputError, nullIfHidden } from '../../errors/errors.js';
import { DAYS_OF_WEEK, Token, type TimeRestrictions, type UsageLimits } from './token.entity.js';
import { managedScope, type TokenListFilter } from './token-list-filter.js';
import { connectionOf, COUNT_COMPLEXITY, encodeKeysetCursor, pageArguments, pageComplexity, PAGE_SIZE, type ConnectionShape } from '../common/keyset-page.js';

export const TokenStatusEnum = builder.enumType('TokenStatus', {
  values: {
    ACTIVE: { description: 'Usable now.' },
    EXPIRED: { description: 'Past its expiry; it no longer authenticates.' },
    REVOKED: { description: 'Revoked; it no longer authenticates.' },
  } as const,
});

export const DayOfWeekEnum = builder.enumType('DayOfWeek', { values: DAYS_OF_WEEK });

const TimeRestrictionsRef = builder.objectRef<TimeRestrictions>('TimeRestrictions').implement({
  description: 'When the token may be used. A window whose end is before its start crosses midnight.',
  fields: (t) => ({
    daysOfWeek: t.field({
      type: [DayOfWeekEnum],
      nullable: true,
      description: 'The days it may be used; null means every day.',
      resolve: (r) => r.daysOfWeek,
    }),
    startTime: t.exposeString('startTime', { nullable: true, description: '"HH:MM", in timeZone.' }),
    endTime: t.exposeString('endTime', { nullable: true, description: '"HH:MM", in timeZone.' }),
    timeZone: t.exposeString('timeZone', { description: 'IANA time zone, e.g. Europe/Paris.' }),
  }),
});

const UsageLimitsRef = builder.objectRef<UsageLimits>('UsageLimits').implement({
  description: 'How often the token may be used. Null means no limit of that kind.',
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute', { nullable: true }),
    requestsPerHour: t.exposeInt('requestsPerHour', { nullable: true }),
    requestsPerDay: t.exposeInt('requestsPerDay', { nullable: true }),
    maxTotalRequests: t.exposeInt('maxTotalRequests', { nullable: true }),
  }),
});

builder.objectType('Revocation', {
  description: 'When, by whom and why a token was revoked.',
  fields: (t) => ({
    revokedAt: t.expose('revokedAt', { type: 'DateTime' }),
    revokedBy: t.exposeString('revokedBy', { description: 'The email of whoever revoked it.' }),
    reason: t.exposeString('reason', { nullable: true }),
  }),
});

export const TokenRef = builder.node('Token', {
  description: 'An API token. Its secret is shown once, when it is minted, and never stored.',
  id: { resolve: (token) => token.id },
  isTypeOf: (value) => value instanceof Token,
  // The backstop: however a Token is reached, only a caller who may see it reads its fields.
  authScopes: (token) => ({ tokenVisible: token }),
  // node(id): a token the caller may not see is simply absent.
  loadOne: async (id, ctx) => {
    const token = await ctx.loaders.tokenById.load(id);
    return token && (await ctx.authScopes.tokenVisible(token)) ? token : null;
  },
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    prefix: t.exposeString('prefix', {
      description: 'The first characters of the secret, to recognise it in lists and logs.',
    }),
    status: t.field({ type: TokenStatusEnum, resolve: (token, _args, ctx) => token.status(ctx.clock()) }),
    permissions: t.exposeStringList('permissions', {
      description: "What the token may do. Empty: it acts with its owner's permissions at use time.",
    }),
    serverId: t.exposeString('serverId', { nullable: true, description: 'The one server it is valid for.' }),
    ipRestrictions: t.exposeStringList('ipRestrictions', {
      description: 'Addresses or CIDR ranges it may be used from; empty means anywhere.',
    }),
    tags: t.exposeStringList('tags'),
    timeRestrictions: t.field({
      type: TimeRestrictionsRef,
      nullable: true,
      resolve: (token) => token.timeRestrictions,
    }),
    usageLimits: t.field({ type: UsageLimitsRef, nullable: true, resolve: (token) => token.usageLimits }),
    owner: t.field({
      type: 'User',
      resolve: async (token, _args, ctx) => (await ctx.loaders.userById.load(token.owner.id))!,
    }),
    team: t.field({
      type: 'Team',
      nullable: true,
      // For the team's members and administrators (a deleted team too: its history stays), never
      // for a former member, nor for anyone else who happens to see the token.
      authScopes: (token) => (token.team ? { teamReader: token.team.id } : true),
      unauthorizedResolver: () => null,
      resolve: (token, _args, ctx) => (token.team ? ctx.loaders.teamById.load(token.team.id) : null),
    }),
    revocation: t.field({
      type: 'Revocation',
      nullable: true,
      // Only revoked tokens have one, and the row says so: no lookup for the others.
      resolve: (token, _args, ctx) => (token.revokedAt ? ctx.loaders.revocationByTokenId.load(token.id) : null),
    }),
    parent: t.field({
      type: 'Token',
      nullable: true,
      description: 'The API token that minted this one; null for a token minted by a person, or one you may not see.',
      resolve: async (token, _args, ctx) => {
        if (!token.parent) return null;
        const parent = await ctx.loaders.tokenById.load(token.parent.id);
        return parent && (await ctx.authScopes.tokenVisible(parent)) ? parent : null;
      },
    }),
    children: t.field({
      type: ['Token'],
      description: 'The tokens this one minted, newest first. Revoking it revokes them (and theirs).',
      complexity: { field: 2, multiplier: 10 },
      resolve: (token, _args, ctx) => ctx.loaders.childrenOf.load(token.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime', nullable: true, description: 'When the secret was last replaced.' }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Until when the secret before the last rotation still works; null without a grace period.',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    usageCount: t.exposeInt('usageCount'),
  }),
});

export const TokenConnection = builder.connectionObject(
  {
    type: TokenRef,
    name: 'TokenConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many tokens match, across all pages.',
        complexity: COUNT_COMPLEXITY,
        resolve: (connection) => (connection as unknown as ConnectionShape<Token>).totalCount(),
      }),
    }),
  },
  { name: 'TokenEdge' },
);

builder.queryFields((t) => ({
  token: t.field({
    type: TokenRef,
    nullable: true,
    description: 'A token by id; null when it does not exist or is not visible to the caller.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ authenticated: true, tokenPermission: 'tokens.read', tokenVisible: args.id }),
    // Hidden looks like absent: null, with no error entry.
    unauthorizedResolver: (_root, _args, _ctx, _info, error) => nullIfHidden(error),
    // The scope has already loaded the token and checked it, so the id parses and the load is cached.
    resolve: (_root, args, ctx) => ctx.loaders.tokenById.load(parseGlobalId('Token', args.id)!),
  }),
  tokens: t.field({
    type: TokenConnection,
    description: "The caller's tokens, newest first. `search` matches the name or the display prefix.",
    complexity: pageComplexity,
    args: {
      first: t.arg.int({ description: `1-${PAGE_SIZE.max}, default ${PAGE_SIZE.default}` }),
      after: t.arg.string(),
      includeInactive: t.arg.boolean({ defaultValue: false, description: 'Include revoked and expired tokens.' }),
      search: t.arg.string(),
      tag: t.arg.string(),
    },
    authScopes: { authenticated: true, tokenPermission: 'tokens.read' },
    // An API token lists what it manages: itself and its descendants.
    resolve: (_root, args, ctx, info) => tokenPage(ctx, managedScope(managedTokens(ctx.caller())), args, info),
  }),
}));

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  includeInactive?: boolean | null;
  search?: string | null;
  tag?: string | null;
}

/**
 * One page of a token list, for every list that returns a TokenConnection: checks the arguments,
 * fetches first+1 rows, and counts only if totalCount is asked for.
 */
export async function tokenPage(
  ctx: Context,
  scope: Omit<TokenListFilter, 'includeInactive' | 'now' | 'search' | 'tag'>,
  args: PageArgs,
  info: GraphQLResolveInfo,
): Promise<never> {
  const { first, after } = pageArguments(args);
  if (args.search && args.search.length > 200) {
    throw new BadUserInputError('search must be at most 200 characters', 'search');
  }
  const filter: TokenListFilter = {
    ...scope,
    includeInactive: args.includeInactive ?? false,
    search: args.search,
    tag: args.tag,
    now: ctx.clock(),
  };
  const fetch = async () => {
    const { tokens, hasNextPage } = await ctx.tokens.list(filter, first, after);
    for (const token of tokens) ctx.loaders.tokenById.prime(token.id, token);
    return connectionOf(tokens, (token) => encodeKeysetCursor(token.createdAt, token.id), { hasNextPage, after }, () => ctx.tokens.count(filter));
  };
  // In a query, the same page reached again (a team's tokens through each of its tokens) is one
  // fetch. A mutation's later fields must see its earlier changes, so there each fetch is fresh.
  const key = `tokens:${JSON.stringify({ ...filter, now: undefined, first, after: args.after ?? null })}`;
  const connection = info.operation.operation === 'query' ? await ctx.loaders.once(key, fetch) : await fetch();
  // The connection plugin's shape has no totalCount; the TokenConnection type adds it.
  return connection as never;
}

builder.objectField('Team', 'tokens', (t) =>
  t.field({
    type: TokenConnection,
    description: "Owners see every team token; members see their own; an API token, what it manages.",
    complexity: pageComplexity,
    args: {
      first: t.arg.int({ description: `1-${PAGE_SIZE.max}, default ${PAGE_SIZE.default}` }),
      after: t.arg.string(),
      includeInactive: t.arg.boolean({ defaultValue: false }),
    },
    authScopes: { tokenPermission: 'tokens.read' },
    resolve: async (team, args, ctx, info) => {
      const role = (await ctx.loaders.membership.load(team.id))?.role ?? null;
      return tokenPage(ctx, { teamId: team.id, ...managedScope(managedTokens(ctx.caller(), { role })) }, args, info);
    },
  }),
);

const EXPIRING_DAYS = { defaultValue: 7, description: '1-366' };
/** Up to 100 tokens, in one query. */
const EXPIRING_COMPLEXITY = { field: 5, multiplier: 100 };

builder.queryField('tokensExpiringSoon', (t) =>
  t.field({
    type: [TokenRef],
    description: "The caller's active tokens that expire within `days`, soonest first (at most 100).",
    complexity: EXPIRING_COMPLEXITY,
    args: { days: t.arg.int(EXPIRING_DAYS) },
    authScopes: { authenticated: true, tokenPermission: 'tokens.read' },
    resolve: (_root, { days }, ctx) => ctx.tokens.expiringSoon(managedScope(managedTokens(ctx.caller())), days ?? 7),
  }),
);

builder.objectField('Team', 'tokensExpiringSoon', (t) =>
  t.field({
    type: [TokenRef],
    description: "The team's active tokens that expire within `days`, soonest first; for owners.",
    complexity: EXPIRING_COMPLEXITY,
    args: { days: t.arg.int(EXPIRING_DAYS) },
    authScopes: (team) => ({ tokenPermission: 'tokens.read', teamOwner: team }),
    resolve: (team, { days }, ctx) => ctx.tokens.expiringSoon({ teamId: team.id }, days ?? 7),
  }),
);

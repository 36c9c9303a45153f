import { builder } from '../../builder.js';
import { BadUserInputError } from '../../errors/errors.js';
import {
  MAX_PERIOD_DAYS,
  MAX_TOP_ENDPOINTS,
  type BlockReasonCount,
  type DailyUsage,
  type EndpointCount,
  type UsageScope,
  type UsageStats,
} from './usage-stats.js';
import { VerificationOutcomeEnum } from '../verification/verification.schema.js';
import type { Context } from '../../context.js';

const EndpointUsageRef = builder.objectRef<EndpointCount>('EndpointUsage').implement({
  fields: (t) => ({ endpoint: t.exposeString('endpoint'), count: t.exposeInt('count') }),
});

const BlockReasonCountRef = builder.objectRef<BlockReasonCount>('BlockReasonCount').implement({
  fields: (t) => ({
    reason: t.field({ type: VerificationOutcomeEnum, resolve: (r) => r.reason as never }),
    count: t.exposeInt('count'),
  }),
});

const DailyUsageRef = builder.objectRef<DailyUsage>('DailyUsage').implement({
  fields: (t) => ({
    date: t.field({ type: 'Date', resolve: (d) => d.date }),
    totalRequests: t.exposeInt('totalRequests'),
    blockedRequests: t.exposeInt('blockedRequests'),
  }),
});

const UsageStatsRef = builder.objectRef<UsageStats>('UsageStats').implement({
  description:
    'Uses over the last `periodDays` UTC days, today included. Success: a reported status below 400, else a VALID outcome.',
  fields: (t) => ({
    periodDays: t.exposeInt('periodDays'),
    totalRequests: t.exposeInt('totalRequests'),
    successfulRequests: t.exposeInt('successfulRequests'),
    blockedRequests: t.exposeInt('blockedRequests'),
    successRate: t.exposeFloat('successRate', { description: '0 to 1; 0 when there were no requests.' }),
    averageResponseTimeMs: t.exposeFloat('averageResponseTimeMs', {
      nullable: true,
      description: 'Over the uses whose response time was reported; null when none was.',
    }),
    topEndpoints: t.field({
      type: [EndpointUsageRef],
      args: { limit: t.arg.int({ defaultValue: 5, description: `1-${MAX_TOP_ENDPOINTS}` }) },
      complexity: (args) => ({ field: 1, multiplier: Math.min(Math.max(args.limit ?? 5, 1), MAX_TOP_ENDPOINTS) }),
      resolve: (stats, { limit }) => {
        const count = limit ?? 5;
        if (!Number.isInteger(count) || count < 1 || count > MAX_TOP_ENDPOINTS) {
          throw new BadUserInputError(`limit must be between 1 and ${MAX_TOP_ENDPOINTS}`, 'limit');
        }
        return stats.endpoints.slice(0, count);
      },
    }),
    blockReasons: t.field({ type: [BlockReasonCountRef], resolve: (stats) => stats.blockReasons }),
    daily: t.field({
      type: [DailyUsageRef],
      description: 'One row per day of the period, zero-filled.',
      // Up to 30 rows for each 30 days the enclosing usage field counts.
      complexity: { field: 1, multiplier: 30 },
      resolve: (stats) => stats.daily,
    }),
  }),
});

/**
 * Usage figures are aggregates over events, the dearest reads in the schema, and a longer period
 * means more events to read and more days to return: what they select counts once per 30 days.
 */
const periodFactor = (days: number | null | undefined) =>
  typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= MAX_PERIOD_DAYS ? Math.ceil(days / 30) : Math.ceil(MAX_PERIOD_DAYS / 30);
const TOKEN_USAGE_COMPLEXITY = (args: { days?: number | null }) => ({ field: 20, multiplier: periodFactor(args.days ?? 30) });
/** A whole owner's or team's events, in a query of its own (once per scope and period in a request). */
const SCOPE_USAGE_COMPLEXITY = (args: { days?: number | null }) => ({ field: 100, multiplier: periodFactor(args.days ?? 30) });

const DAYS = { defaultValue: 30, description: `1-${MAX_PERIOD_DAYS} UTC days, today included` };

function checkedDays(days: number | null | undefined): number {
  const value = days ?? 30;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PERIOD_DAYS) {
    throw new BadUserInputError(`days must be between 1 and ${MAX_PERIOD_DAYS}`, 'days');
  }
  return value;
}

function wholeScopeStats(ctx: Context, scope: Exclude<UsageScope, { kind: 'tokens' }>, days: number | null | undefined): Promise<UsageStats> {
  return ctx.loaders.usageOfScope.load({ scope, days: checkedDays(days) });
}

/** What every `usage` field has: its type, its period argument and what a period costs. */
const usageField = (description: string, complexity: typeof TOKEN_USAGE_COMPLEXITY) => ({ type: UsageStatsRef, description, complexity });

// A token's figures are batched per page (one aggregate query), but it scans the page's events.
builder.objectField('Token', 'usage', (t) =>
  t.field({
    ...usageField('How this token has been used.', TOKEN_USAGE_COMPLEXITY),
    args: { days: t.arg.int(DAYS) },
    resolve: (token, { days }, ctx) => ctx.loaders.usageOfToken(checkedDays(days)).load(token.id),
  }),
);

builder.objectField('Viewer', 'usage', (t) =>
  t.field({
    ...usageField("All of the viewer's tokens together.", SCOPE_USAGE_COMPLEXITY),
    args: { days: t.arg.int(DAYS) },
    authScopes: { tokenPermission: 'tokens.read' },
    resolve: (viewer, { days }, ctx) => wholeScopeStats(ctx, { kind: 'owner', userId: viewer.user.id }, days),
  }),
);

// Like Viewer.usage and Team.tokens: an API token must hold tokens.read itself.
builder.objectField('Team', 'usage', (t) =>
  t.field({
    ...usageField("All of the team's tokens together; for the team's owners.", SCOPE_USAGE_COMPLEXITY),
    args: { days: t.arg.int(DAYS) },
    authScopes: (team) => ({ tokenPermission: 'tokens.read', teamOwner: team }),
    resolve: (team, { days }, ctx) => wholeScopeStats(ctx, { kind: 'team', teamId: team.id }, days),
  }),
);

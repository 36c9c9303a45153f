import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../clock.js';
import { periodEnding, usageStats, WHOLE_SCOPE, type UsageScope, type UsageStats } from './usage-stats.js';

/** Token.usage on a page of tokens: one set of aggregate queries for the page, not per token. */
export function createUsageLoader(em: EntityManager, clock: Clock, days: number) {
  return new DataLoader<string, UsageStats>(async (tokenIds) => {
    const stats = await usageStats(em, { kind: 'tokens', tokenIds }, periodEnding(clock(), days));
    return tokenIds.map((id) => stats.get(id)!);
  });
}

/** A whole owner's or team's figures over some days. */
export type ScopeUsageKey = { scope: Exclude<UsageScope, { kind: 'tokens' }>; days: number };

/**
 * Viewer.usage and Team.usage, once per (owner or team, days) in a request: the same team reached
 * through each of a hundred tokens is one aggregate, not a hundred.
 */
export function createScopeUsageLoader(em: EntityManager, clock: Clock) {
  return new DataLoader<ScopeUsageKey, UsageStats, string>(
    (keys) =>
      Promise.all(keys.map(async ({ scope, days }) => (await usageStats(em, scope, periodEnding(clock(), days))).get(WHOLE_SCOPE)!)),
    { cacheKeyFn: ({ scope, days }) => `${scope.kind}:${scope.kind === 'owner' ? scope.userId : scope.teamId}:${days}` },
  );
}

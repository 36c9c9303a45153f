import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../clock.js';
import { periodEnding, usageStats, type UsageStats } from './usage-stats.js';

/** Token.usage on a page of tokens: one set of aggregate queries for the page, not per token. */
export function createUsageLoader(em: EntityManager, clock: Clock, days: number) {
  return new DataLoader<string, UsageStats>(async (tokenIds) => {
    const stats = await usageStats(em, { kind: 'tokens', tokenIds }, periodEnding(clock(), days));
    return tokenIds.map((id) => stats.get(id)!);
  });
}

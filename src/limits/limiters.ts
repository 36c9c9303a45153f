import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';

/**
 * The counters behind every rate limit (tokens' own limits, callers' budgets, leak reports), all
 * rate-limiter-flexible: in this process's memory, or in Redis so that a limit holds across
 * instances.
 */

/** Makes the limiter for one (points, window) pair. */
export type LimiterFactory = (points: number, durationSeconds: number) => RateLimiterAbstract;

export const memoryLimiters: LimiterFactory = (points, duration) =>
  new RateLimiterMemory({ points, duration, keyPrefix: `rate:${duration}:${points}` });

/**
 * Counters in Redis, so that a limit of 10 per minute is 10 across every instance. While Redis
 * is away each instance counts in its own memory instead (the insurance limiter): limits then
 * hold per instance, and quotas stay exact through PostgreSQL. `keyPrefix` keeps one kind of
 * counter apart from the others, even where their points and windows are the same.
 */
export function redisLimiters(redis: Redis, keyPrefix: string): LimiterFactory {
  return (points, duration) =>
    new RateLimiterRedis({
      storeClient: redis,
      points,
      duration,
      keyPrefix: `${keyPrefix}:${duration}:${points}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix: `${keyPrefix}:memory:${duration}:${points}` }),
    });
}

/** When a refused caller may try again: whole seconds, at least one. */
export function retryAfterSeconds(rejection: RateLimiterRes): number {
  return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
}

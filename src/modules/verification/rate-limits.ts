import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { memoryLimiters, retryAfterSeconds, type LimiterFactory } from '../../limits/limiters.js';
import type { UsageLimits } from '../token/token.entity.js';

const WINDOWS = [
  { field: 'requestsPerMinute', seconds: 60 },
  { field: 'requestsPerHour', seconds: 3_600 },
  { field: 'requestsPerDay', seconds: 86_400 },
] as const;

export type RateDecision =
  | { allowed: true; remaining: number | null; refund: () => Promise<void> }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Per-token request rates, counted by rate-limiter-flexible. A window starts at the token's
 * first use in it, so a burst never spends two budgets. A use is counted in every window or in
 * none: when a later window (or the lifetime quota) refuses, the earlier ones are refunded.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly makeLimiter: LimiterFactory = memoryLimiters) {}

  async consume(tokenId: string, limits: UsageLimits): Promise<RateDecision> {
    const consumed: RateLimiterAbstract[] = [];
    let remaining: number | null = null;
    for (const { field, seconds } of WINDOWS) {
      const points = limits[field];
      if (points == null) continue;
      const limiter = this.limiter(points, seconds);
      try {
        const result = await limiter.consume(tokenId);
        consumed.push(limiter);
        remaining = Math.min(remaining ?? Infinity, result.remainingPoints);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        await refund(consumed, tokenId);
        return { allowed: false, retryAfterSeconds: retryAfterSeconds(rejection) };
      }
    }
    return { allowed: true, remaining, refund: () => refund(consumed, tokenId) };
  }

  private limiter(points: number, seconds: number): RateLimiterAbstract {
    const key = `${seconds}:${points}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = this.makeLimiter(points, seconds);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}

async function refund(limiters: RateLimiterAbstract[], tokenId: string): Promise<void> {
  await Promise.all(limiters.map((limiter) => limiter.reward(tokenId)));
}

import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { LimiterFactory } from '../modules/verification/rate-limits.js';
import { RateLimitedError } from '../modules/common/errors.js';

/**
 * How often one caller may change things: budgets per principal (a user, or an API token, which
 * has a budget of its own), counted by rate-limiter-flexible in Redis when it is configured, so a
 * caller spread over every instance still gets one budget. The defaults are beyond what a person at
 * a screen or a well-behaved script does; they exist to stop a loop or a stolen credential.
 */
export type Budget = 'mint' | 'change';

const WHAT: Record<Budget, string> = { mint: 'new secrets (mints and rotations)', change: 'changes' };

export class CallerRateLimits {
  private readonly limiters: Record<Budget, RateLimiterAbstract>;

  constructor(
    private readonly perMinute: Config['managementRateLimits'],
    makeLimiter: LimiterFactory,
  ) {
    this.limiters = {
      mint: makeLimiter(perMinute.mintsPerMinute, 60),
      change: makeLimiter(perMinute.changesPerMinute, 60),
    };
  }

  /** Spends one unit of the caller's budget, or throws RateLimitedError saying when to retry. */
  async spend(caller: string, budget: Budget): Promise<void> {
    try {
      await this.limiters[budget].consume(caller);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      const limit = budget === 'mint' ? this.perMinute.mintsPerMinute : this.perMinute.changesPerMinute;
      throw new RateLimitedError(`Too many ${WHAT[budget]}: at most ${limit} a minute per caller; try again in ${retryAfterSeconds} s`, retryAfterSeconds);
    }
  }
}

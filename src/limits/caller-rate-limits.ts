import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { RateLimitedError } from '../errors/errors.js';
import { retryAfterSeconds, type LimiterFactory } from './limiters.js';

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

  /** `limitersFor` gives each budget counters of its own (in Redis: keys of its own). */
  constructor(
    private readonly perMinute: Config['managementRateLimits'],
    limitersFor: (budget: Budget) => LimiterFactory,
  ) {
    this.limiters = {
      mint: limitersFor('mint')(perMinute.mintsPerMinute, 60),
      change: limitersFor('change')(perMinute.changesPerMinute, 60),
    };
  }

  /**
   * Spends one unit of each caller's budget (an API token's own, and its owner's for secrets, so
   * that minting tokens does not multiply the budget), or throws RateLimitedError saying when to
   * retry.
   */
  async spend(callers: readonly string[], budget: Budget): Promise<void> {
    for (const caller of callers) {
      try {
        await this.limiters[budget].consume(caller);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const seconds = retryAfterSeconds(rejection);
        const limit = budget === 'mint' ? this.perMinute.mintsPerMinute : this.perMinute.changesPerMinute;
        throw new RateLimitedError(`Too many ${WHAT[budget]}: at most ${limit} a minute per caller; try again in ${seconds} s`, seconds);
      }
    }
  }
}

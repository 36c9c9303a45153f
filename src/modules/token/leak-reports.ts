import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError, ValidationError } from '../../errors/errors.js';
import { retryAfterSeconds } from '../../limits/limiters.js';
import type { TokenRevocation } from './token-revocation.js';
import { hasValidChecksum, hashSecret } from './token.secret.js';

export const LEAK_REASON = 'Reported as leaked';
export const MAX_LEAK_REPORT = 1_000;

/** Where a report came from: what its audit events record. */
export interface Reporter {
  clientIp: string | null;
  userAgent: string | null;
}

/**
 * Anyone who finds a Keymint token may report it, without credentials. Every live token among
 * the strings is revoked at once (an old secret still in its grace period kills the whole token,
 * and with it every token it minted). The answer is the same whatever was found, so the report
 * cannot be used to test whether a string is a live token; reports are rate-limited per address.
 */
export class LeakReports {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    /** The prefix of this instance's secrets, for the checksum test. */
    private readonly secretPrefix: string,
    /** The revocations of a report's own: whoever calls, a leak report acts anonymously ("leak-report"). */
    private readonly revocationsFor: (reporter: Reporter) => TokenRevocation,
  ) {}

  /** Both doors (the reportLeakedTokens mutation and POST /v1/leaks) report here. */
  async report(strings: unknown[], reporter: Reporter): Promise<{ received: number }> {
    if (strings.length > MAX_LEAK_REPORT) {
      throw ValidationError.forField(['tokens'], `report at most ${MAX_LEAK_REPORT} strings at a time`);
    }
    try {
      await this.limiter.consume(reporter.clientIp ?? 'unknown');
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        const seconds = retryAfterSeconds(rejection);
        throw new RateLimitedError(`Too many leak reports from this address: try again in ${seconds} s`, seconds);
      }
      throw rejection;
    }
    // Checksums first: noise costs no database work. What is left is looked up in one batch, and
    // revoked in one transaction, descendants included.
    const hashes = new Set<string>();
    for (const value of strings) {
      if (typeof value === 'string' && hasValidChecksum(this.secretPrefix, value)) hashes.add(hashSecret(value));
    }
    if (hashes.size > 0) await this.revocationsFor(reporter).revokeBySecretHashes([...hashes], LEAK_REASON);
    return { received: strings.length };
  }
}

/** The strings of a report: `{"tokens": [...]}`, or the secret-scanning shape `[{token, type, url, source}]`. */
export function leakedStrings(body: unknown): unknown[] | null {
  if (Array.isArray(body)) {
    return body.map((item) => (typeof item === 'object' && item !== null && 'token' in item ? (item as { token: unknown }).token : item));
  }
  if (typeof body === 'object' && body !== null && Array.isArray((body as { tokens?: unknown }).tokens)) {
    return (body as { tokens: unknown[] }).tokens;
  }
  return null;
}

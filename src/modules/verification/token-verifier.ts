import type { MikroORM } from '@mikro-orm/postgresql';
import type { Clock } from '../../clock.js';
import { tokenPermissions } from '../../auth/principal.js';
import { missingPermissions } from '../../auth/permissions.js';
import type { TokenSnapshot } from '../token/token-snapshot.js';
import { TokenRepository } from '../token/token.repository.js';
import { hasValidChecksum, hashSecret } from '../token/token.secret.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import type { UsageEventDraft } from '../usage/pending-usage.js';
import type { RateLimits } from './rate-limits.js';
import { ipAllowed, withinTimeWindow } from './restrictions.js';
import type { VerificationCache } from './verification-cache.js';
import type { Outcome, Verification, VerificationRequest } from './verification.js';
import { sanitizeText } from '../../text.js';
import { isDatabaseUnavailable } from '../../db/availability.js';
import { METADATA_LIMITS } from '../common/request-metadata.js';

export interface TokenVerifierDependencies {
  orm: MikroORM;
  clock: Clock;
  tokenPrefix: string;
  cache: VerificationCache;
  rateLimits: RateLimits;
  usage: UsageRecorder;
}

interface Refusal {
  outcome: Outcome;
  reason: string;
}

/**
 * Decides whether a presented secret may be used, with the checks in a fixed order: format and
 * checksum (no database work), existence, revocation, expiry, server binding, client IP, time
 * window, required permissions, then rate limits and the lifetime quota. Every use of an
 * identified token is recorded; only VALID ones count toward limits and usageCount.
 */
export class TokenVerifier {
  /** Loads in progress, so that a burst for one uncached token costs one query. */
  private readonly loading = new Map<string, Promise<TokenSnapshot | null>>();
  /**
   * Bumped by every forgetToken() and forgetOwner(): a load that started before a revocation must not put the old
   * state back into the cache when it finishes after it.
   */
  private epoch = 0;
  /** The last load found the database unreachable: stale entries are answered without waiting on it. */
  private unreachable = false;

  /** Lifetime quotas are spent in PostgreSQL, exactly, across restarts and instances. */
  private readonly quotas: TokenRepository;

  constructor(private readonly deps: TokenVerifierDependencies) {
    this.quotas = new TokenRepository(deps.orm.em);
  }


  async verify(secret: string, request: VerificationRequest = {}): Promise<Verification> {
    if (!hasValidChecksum(this.deps.tokenPrefix, secret)) {
      return refused(null, { outcome: 'MALFORMED', reason: 'not a well-formed token, or its checksum does not match' });
    }
    const token = await this.lookup(hashSecret(secret));
    if (!token) return refused(null, { outcome: 'NOT_FOUND', reason: 'no token has this secret' });

    const now = this.deps.clock();
    const refusal = this.checkRestrictions(token, request, now);
    if (refusal) return this.recordRefusal(token, request, now, refusal);

    const permissions = tokenPermissions(token);
    const missing = missingPermissions(permissions, request.requiredPermissions ?? []);
    if (missing.length > 0) {
      return this.recordRefusal(token, request, now, {
        outcome: 'INSUFFICIENT_PERMISSIONS',
        reason: `the token does not hold ${missing.map((p) => `'${p}'`).join(', ')}`,
      });
    }

    return this.consumeLimits(token, request, now, permissions);
  }

  /** Drops every cached secret of a token: it was revoked, rotated or changed. */
  forgetToken(tokenId: string): void {
    this.epoch += 1;
    this.deps.cache.forgetToken(tokenId);
    this.loading.clear();
  }

  /** Drops an owner's tokens from the cache: their claims changed, and they bound the tokens. */
  forgetOwner(ownerId: string): void {
    this.epoch += 1;
    this.deps.cache.forgetOwner(ownerId);
  }

  private checkRestrictions(token: TokenSnapshot, request: VerificationRequest, now: Date): Refusal | null {
    if (token.revokedAt !== null) return { outcome: 'REVOKED', reason: 'the token has been revoked' };
    if (token.secretValidUntil !== null && token.secretValidUntil <= now.getTime()) {
      return { outcome: 'REVOKED', reason: 'this secret was replaced by a rotation and its grace period is over' };
    }
    if (token.expiresAt !== null && token.expiresAt <= now.getTime()) {
      return { outcome: 'EXPIRED', reason: 'the token has expired' };
    }
    // Fail closed: a bound token is refused when the caller does not say where it is used.
    if (token.serverId !== null && request.serverId !== token.serverId) {
      return {
        outcome: 'WRONG_SERVER',
        reason: request.serverId ? `the token is bound to another server` : 'the token is bound to a server; none was given',
      };
    }
    if (token.ipRestrictions.length > 0 && !ipAllowed(token.ipRestrictions, request.clientIp)) {
      return {
        outcome: 'IP_NOT_ALLOWED',
        reason: request.clientIp ? `client IP ${request.clientIp} is not allowed` : 'the token is IP-restricted; no client IP was given',
      };
    }
    if (token.timeRestrictions && !withinTimeWindow(token.timeRestrictions, now)) {
      return { outcome: 'OUTSIDE_TIME_WINDOW', reason: 'outside the token’s allowed days or hours' };
    }
    return null;
  }

  private async consumeLimits(
    token: TokenSnapshot,
    request: VerificationRequest,
    now: Date,
    permissions: string[],
  ): Promise<Verification> {
    const limits = token.usageLimits;
    let remaining: number | null = null;
    let refundRate: (() => Promise<void>) | null = null;
    if (limits && (limits.requestsPerMinute ?? limits.requestsPerHour ?? limits.requestsPerDay) != null) {
      const decision = await this.deps.rateLimits.consume(token.id, limits);
      if (!decision.allowed) {
        return {
          ...this.recordRefusal(token, request, now, { outcome: 'RATE_LIMITED', reason: 'the token’s rate limit is reached' }),
          remaining: 0,
          retryAfterSeconds: decision.retryAfterSeconds,
        };
      }
      remaining = decision.remaining;
      refundRate = decision.refund;
    }
    const quota = limits?.maxTotalRequests ?? null;
    if (quota !== null) {
      const used = await this.quotas.spendQuota(token.id, quota, now);
      if (used === null) {
        await refundRate?.();
        return {
          ...this.recordRefusal(token, request, now, { outcome: 'USAGE_EXCEEDED', reason: 'the token’s lifetime quota is spent' }),
          remaining: 0,
        };
      }
      remaining = Math.min(remaining ?? Infinity, quota - used);
    }
    const verificationId = this.deps.usage.record(usageEvent(token, request, now, 'VALID', null, quota === null));
    return {
      valid: true,
      outcome: 'VALID',
      verificationId,
      token,
      permissions,
      remaining,
      retryAfterSeconds: null,
      reason: null,
    };
  }

  private recordRefusal(token: TokenSnapshot, request: VerificationRequest, now: Date, refusal: Refusal): Verification {
    const verificationId = this.deps.usage.record(usageEvent(token, request, now, refusal.outcome, refusal.reason, false));
    return refused(token, refusal, verificationId);
  }

  private lookup(secretHash: string): Promise<TokenSnapshot | null> | TokenSnapshot | null {
    const cached = this.deps.cache.get(secretHash);
    if (cached !== undefined) return cached;
    // Known to be unreachable: answer from a stale entry at once, and ask the database again in
    // the background, rather than make every caller wait out a connection timeout.
    if (this.unreachable) {
      const stale = this.deps.cache.stale(secretHash);
      if (stale) {
        void this.loadOnce(secretHash).catch(() => undefined);
        return stale;
      }
    }
    return this.loadOnce(secretHash);
  }

  /** One load per secret at a time, however many verifications wait for it. */
  private loadOnce(secretHash: string): Promise<TokenSnapshot | null> {
    let pending = this.loading.get(secretHash);
    if (!pending) {
      pending = this.load(secretHash).finally(() => this.loading.delete(secretHash));
      this.loading.set(secretHash, pending);
    }
    return pending;
  }

  private async load(secretHash: string): Promise<TokenSnapshot | null> {
    const epoch = this.epoch;
    let snapshot: TokenSnapshot | null;
    try {
      snapshot = await new TokenRepository(this.deps.orm.em.fork()).snapshotBySecretHash(secretHash);
    } catch (error) {
      // A token verified recently keeps verifying through an outage, for the stale window.
      if (!isDatabaseUnavailable(error)) throw error;
      this.unreachable = true;
      const stale = this.deps.cache.stale(secretHash);
      if (!stale) throw error;
      return stale;
    }
    this.unreachable = false;
    if (epoch === this.epoch) this.deps.cache.remember(secretHash, snapshot);
    return snapshot;
  }
}

function refused(token: TokenSnapshot | null, refusal: Refusal, verificationId: string | null = null): Verification {
  return {
    valid: false,
    outcome: refusal.outcome,
    verificationId,
    token,
    permissions: [],
    remaining: null,
    retryAfterSeconds: null,
    reason: refusal.reason,
  };
}

/**
 * The whole event as one object literal. Not `{ ...fields, outcome, ... }`: on Node 20's V8 each
 * property added after a spread takes a slow path (about 0.7 µs each), which cost more than the
 * rest of a cached verification.
 */
function usageEvent(
  token: TokenSnapshot,
  request: VerificationRequest,
  now: Date,
  outcome: Outcome,
  blockReason: string | null,
  countsTowardUsage: boolean,
): UsageEventDraft {
  return {
    tokenId: token.id,
    occurredAt: now,
    // Cleaned here too: API tokens calling Keymint itself reach this with what their request said.
    endpoint: sanitizeText(request.endpoint, METADATA_LIMITS.endpoint),
    method: sanitizeText(request.method, METADATA_LIMITS.method),
    clientIp: sanitizeText(request.clientIp, METADATA_LIMITS.clientIp),
    userAgent: sanitizeText(request.userAgent, METADATA_LIMITS.userAgent),
    outcome,
    blocked: outcome !== 'VALID',
    blockReason,
    countsTowardUsage,
  };
}


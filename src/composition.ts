import { randomBytes } from 'node:crypto';
import { setInterval as every } from 'node:timers';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { RequestAuthenticator } from './request/authenticate.js';
import { SessionVerifier } from './auth/session-verifier.js';
import type { ContextDependencies } from './context.js';
import { connectRedis, type RedisConnections } from './cluster/redis.js';
import { LocalTokenEventBus, RedisTokenEventBus, type TokenEventBus } from './cluster/token-event-bus.js';
import { CallerRateLimits } from './limits/caller-rate-limits.js';
import { memoryLimiters, redisLimiters, type LimiterFactory } from './limits/limiters.js';
import { anonymousActor } from './modules/audit/actor.js';
import { SigningKeys } from './modules/exchange/signing-keys.js';
import { TokenExchange } from './modules/exchange/token-exchange.js';
import { LeakReports } from './modules/token/leak-reports.js';
import type { TokenEvent } from './modules/token/token-events.js';
import { UsageRecorder } from './modules/usage/usage-recorder.js';
import { UserService } from './modules/user/user.service.js';
import { UsageReports } from './modules/usage/usage-reports.js';
import { RateLimits } from './modules/verification/rate-limits.js';
import { TokenVerifier } from './modules/verification/token-verifier.js';
import { VerificationCache } from './modules/verification/verification-cache.js';
import type { LeakRouteDependencies } from './routes/leak.routes.js';
import { actingServices } from './services.js';

export interface AppDependencies {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  clock?: Clock;
  /** The HS256 session secret in force (configured, or generated for development). */
  sessionSecret?: string;
  /**
   * Encrypts the private signing keys at rest. The server resolves a persistent one (configured,
   * or kept in DATA_DIR); without one (tests, benchmarks) a key lives as long as the process.
   */
  keyEncryptionKey?: Buffer;
}

/** The long-lived services of one Keymint instance, each built once. */
export interface Services {
  /** Null without REDIS_URL: everything shared then lives in this process. */
  redis: RedisConnections | null;
  usage: UsageRecorder;
  /** Resource servers' reports on verified requests, through either door. */
  usageReports: UsageReports;
  verifier: TokenVerifier;
  /** Token events, on this instance and (with Redis) from the others. */
  bus: TokenEventBus;
  authenticator: RequestAuthenticator;
  signingKeys: SigningKeys;
  /** What every request's context is built from. */
  context: ContextDependencies;
  /** A leak report from POST /v1/leaks, acting as the anonymous "leak-report" actor. */
  reportLeaks: LeakRouteDependencies['report'];
  /** Stops background work and writes what is still buffered. */
  close(): Promise<void>;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 86_400_000;

/** The composition root: every long-lived service, built once from the configuration. */
export function composeServices(deps: AppDependencies): Services {
  const { config, orm, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const sessionVerifier =
    deps.sessionSecret || config.auth.jwksUrl
      ? new SessionVerifier({ ...config.auth, secret: deps.sessionSecret, maxAgeSeconds: config.sessionMaxAgeSeconds })
      : null;
  const redis = config.redisUrl ? connectRedis(config.redisUrl, logger) : null;
  // With Redis, counters are shared by every instance, each kind under a key prefix of its own.
  const limitersFor = (prefix: string): LimiterFactory => (redis ? redisLimiters(redis.commands, prefix) : memoryLimiters);
  const usage = new UsageRecorder(
    orm,
    { flushIntervalMs: config.usage.flushIntervalMs, flushBatch: config.usage.flushBatch },
    logger,
  );
  usage.start();
  const verifier = new TokenVerifier({
    orm,
    clock,
    tokenPrefix: config.tokens.prefix,
    cache: new VerificationCache({
      max: config.verification.cacheMax,
      ttlMs: config.verification.cacheTtlMs,
      negativeTtlMs: config.verification.negativeTtlMs,
      staleIfErrorMs: config.verification.staleIfErrorMs,
    }),
    rateLimits: new RateLimits(limitersFor('keymint:rate')),
    usage,
  });
  // Every instance (this one at once, the others through Redis) drops a changed token from its cache.
  const bus: TokenEventBus = redis ? new RedisTokenEventBus(redis, logger) : new LocalTokenEventBus();
  bus.subscribe((event) => verifier.forgetToken(event.tokenId));
  const tokenEvents = (event: TokenEvent) => bus.publish(event);
  const authenticator = new RequestAuthenticator({
    sessionVerifier,
    tokenVerifier: verifier,
    tokenPrefix: config.tokens.prefix,
    serverId: config.serverId,
    clock,
    // New claims change what the user's tokens may do: their cached verifications go.
    users: (em) => new UserService(em, (userId) => verifier.forgetOwner(userId)),
  });
  // The services that act for someone, built per request (or per leak report) by one factory.
  const services = actingServices({ config, clock, tokenEvents });
  const usageReports = new UsageReports(usage, () => orm.em);
  const leaks = new LeakReports(
    limitersFor('keymint:leaks')(config.leakReportsPerMinute, 60),
    config.tokens.prefix,
    (reporter) => services(orm.em.fork(), anonymousActor(reporter)).revocations,
  );
  const signingKeys = new SigningKeys(
    orm,
    deps.keyEncryptionKey ?? config.exchange.keyEncryptionKey ?? randomBytes(32),
    clock,
    config.exchange.ttlSeconds,
  );
  const exchange = new TokenExchange(verifier, signingKeys, clock, config.exchange.ttlSeconds);
  const callerLimits = new CallerRateLimits(config.managementRateLimits, (budget) => limitersFor(`keymint:callers:${budget}`));

  // Old usage events go in small batches, hourly, so PGlite's single connection never stalls.
  const prune = () =>
    usage
      .prune(new Date(clock().getTime() - config.usage.retentionDays * DAY_MS))
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'pruned old usage events'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning usage events failed'));
  const pruneTimer = every(() => void prune(), PRUNE_EVERY_MS).unref();

  return {
    redis,
    usage,
    usageReports,
    verifier,
    bus,
    authenticator,
    signingKeys,
    context: { config, clock, logger, em: orm.em, authenticator, services, verifier, usageReports, tokenEventSource: bus, leaks, exchange, callerLimits },
    reportLeaks: (strings, request) => leaks.report(strings, request),
    close: async () => {
      clearInterval(pruneTimer);
      await usage.close();
      await redis?.close();
    },
  };
}

import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setInterval as every } from 'node:timers';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { clientIpOf, RequestAuthenticator } from './request/authenticate.js';
import { SessionVerifier } from './auth/session-verifier.js';
import { createContext, type Context } from './context.js';
import { schema } from './schema.js';
import { UsageRecorder } from './modules/usage/usage-recorder.js';
import { RateLimits } from './modules/verification/rate-limits.js';
import { memoryLimiters, redisLimiters } from './limits/limiters.js';
import { connectRedis } from './cluster/redis.js';
import { LocalTokenEventBus, RedisTokenEventBus, type TokenEventBus } from './cluster/token-event-bus.js';
import { TokenVerifier } from './modules/verification/token-verifier.js';
import { VerificationCache } from './modules/verification/verification-cache.js';
import { verificationRoutes } from './routes/verification.routes.js';
import type { TokenEvent } from './modules/token/token-events.js';
import { anonymousActor } from './modules/audit/actor.js';
import { LeakReports } from './modules/token/leak-reports.js';
import { UsageReports } from './modules/usage/usage-reports.js';
import { actingServices } from './services.js';
import { leakRoutes } from './routes/leak.routes.js';
import { plainRoute, sendJson } from './routes/plain-http.js';
import { SigningKeys } from './modules/exchange/signing-keys.js';
import { TokenExchange } from './modules/exchange/token-exchange.js';
import { CallerRateLimits } from './limits/caller-rate-limits.js';
import { operationLimits } from './graphql/operation-limits.js';
import { schemaExposure } from './graphql/schema-exposure.js';
import { maskedErrors, tidyRequestErrors } from './graphql/error-masking.js';
import { isDatabaseUnavailable } from './db/availability.js';
import { scrubForLog } from './redaction.js';

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

type ServerContext = { req?: IncomingMessage; res?: ServerResponse };

export interface App {
  yoga: YogaServerInstance<ServerContext, Context>;
  /** The node:http request listener: the plain routes first, then yoga. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Whether the database answers: what /readyz reports. */
  isReady: () => Promise<boolean>;
  verifier: TokenVerifier;
  usage: UsageRecorder;
  /** Token events, on this instance and (with Redis) from the others. */
  bus: TokenEventBus;
  signingKeys: SigningKeys;
  /** Ends long-lived streams (tokenEvents subscriptions): the first step of a graceful stop. */
  endStreams: () => void;
  /** Stops background work and writes what is still buffered. */
  close: () => Promise<void>;
}

const READY_TIMEOUT_MS = 2_000;
const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 86_400_000;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

const GRAPHIQL_QUERY = `# Welcome to Keymint.
#
# 1. Get a session:  npm run session -- --email you@example.com --permission 'tools.*'
# 2. Open "Headers" below and paste:  { "Authorization": "Bearer <that JWT>" }
# 3. Run this, then try mintToken, tokens and revokeToken (see the README).

query Me {
  viewer { id email authMethod permissions }
}
`;

export function createApp(deps: AppDependencies): App {
  const { config, orm, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const sessionVerifier =
    deps.sessionSecret || config.auth.jwksUrl
      ? new SessionVerifier({ ...config.auth, secret: deps.sessionSecret, maxAgeSeconds: config.sessionMaxAgeSeconds })
      : null;
  const redis = config.redisUrl ? connectRedis(config.redisUrl, logger) : null;
  const limiters = redis ? redisLimiters(redis.commands, 'keymint:rate') : memoryLimiters;
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
    rateLimits: new RateLimits(limiters),
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
  });
  const usageReports = new UsageReports(usage, () => orm.em);
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = verificationRoutes({
    config,
    logger,
    authenticator,
    verifier,
    usageReports,
    em: () => orm.em.fork(),
  });
  const services = actingServices({ config, clock, tokenEvents });
  const leaks = new LeakReports(
    (redis ? redisLimiters(redis.commands, 'keymint:leaks') : memoryLimiters)(config.leakReportsPerMinute, 60),
    config.tokens.prefix,
    (reporter) => services(orm.em.fork(), anonymousActor(reporter)).revocations,
  );
  Object.assign(routes, leakRoutes({ config, logger, report: (strings, request) => leaks.report(strings, request) }));
  const signingKeys = new SigningKeys(
    orm,
    deps.keyEncryptionKey ?? config.exchange.keyEncryptionKey ?? randomBytes(32),
    clock,
    config.exchange.ttlSeconds,
  );
  const exchange = new TokenExchange(verifier, signingKeys, clock, config.exchange.ttlSeconds);
  const callerLimits = new CallerRateLimits(
    config.managementRateLimits,
    (budget) => (redis ? redisLimiters(redis.commands, `keymint:callers:${budget}`) : memoryLimiters),
  );
  routes['GET /.well-known/jwks.json'] = plainRoute(
    logger,
    async (_req, res) => sendJson(res, 200, await signingKeys.jwks(), { 'cache-control': 'public, max-age=60' }),
    'debug',
  );
  // Old usage events go in small batches, hourly, so PGlite's single connection never stalls.
  const prune = () =>
    usage
      .prune(new Date(clock().getTime() - config.usage.retentionDays * DAY_MS))
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'pruned old usage events'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning usage events failed'));
  const pruneTimer = every(() => void prune(), PRUNE_EVERY_MS).unref();
  const requests = new WeakMap<Request, { id: string; startedAt: number }>();

  const isReady = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
    });
    const probe = orm.em
      .getConnection()
      .execute('select 1')
      .then(() => true)
      .catch(() => false);
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  // Every request gets an id (the caller's x-request-id when it is sane), echoed in the response
  // and carried by every log line about it. One access-log line per request; never the query
  // string or headers, which may carry credentials.
  const requestLogPlugin: Plugin = {
    onRequest({ request }) {
      const given = request.headers.get('x-request-id');
      requests.set(request, { id: given && REQUEST_ID.test(given) ? given : randomUUID(), startedAt: performance.now() });
    },
    onResponse({ request, response }) {
      const started = requests.get(request);
      if (!started) return;
      response.headers.set('x-request-id', started.id);
      const path = new URL(request.url).pathname;
      const level = PROBE_PATHS.has(path) ? 'debug' : 'info';
      logger[level](
        {
          requestId: started.id,
          method: request.method,
          path,
          status: response.status,
          ms: Math.round((performance.now() - started.startedAt) * 10) / 10,
        },
        'request',
      );
    },
  };

  const probesPlugin: Plugin = {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== '/readyz' || request.method !== 'GET') return;
      const ready = await isReady();
      // A shared Redis outage must not pull every instance out of the load balancer: degraded, not down.
      const redisState = redis ? (redis.isUp() ? 'up' : 'unreachable') : 'not configured';
      const degraded = redis !== null && !redis.isUp();
      endResponse(
        fetchAPI.Response.json(
          { status: ready ? (degraded ? 'degraded' : 'ok') : 'unavailable', database: ready ? 'up' : 'unreachable', redis: redisState, degraded },
          { status: ready ? 200 : 503 },
        ),
      );
    },
  };

  // Expected failures are typed results or GraphQLErrors; anything else is a bug or an outage.
  // Yoga masks it in the response; here it is logged with the request id that the caller sees.
  const errorLogPlugin: Plugin<Context> = {
    onExecute() {
      return {
        onExecuteDone({ args, result }) {
          if (!('errors' in result) || !result.errors) return;
          for (const error of result.errors) {
            const original = error.originalError;
            if (original && !(original instanceof GraphQLError)) {
              // An outage is not a bug: one warning per failed field, without the stack.
              if (isDatabaseUnavailable(original)) {
                args.contextValue.logger.warn({ path: error.path, cause: scrubForLog(String(original.message)).slice(0, 300) }, 'database unavailable');
              }
              else args.contextValue.logger.error({ err: original, path: error.path }, 'unexpected error');
            }
          }
        },
      };
    },
  };

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    // A request is a document and its variables; a leak report of 1,000 secrets is about 60 KB.
    maxRequestBodySize: MAX_GRAPHQL_BODY_BYTES,
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    graphiql: config.graphql.graphiql ? { title: 'Keymint', defaultQuery: GRAPHIQL_QUERY } : false,
    maskedErrors,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      // Yoga reports here the same failures that errorLogPlugin and the context factory have
      // already logged with their request id; keep its copy, with the stack, for debugging.
      error: (...args) => {
        const err = args.find((arg) => arg instanceof Error);
        logger.debug(err ? { err } : {}, args.filter((arg) => !(arg instanceof Error)).map(String).join(' ') || 'yoga error');
      },
    },
    plugins: [
      requestLogPlugin,
      probesPlugin,
      useCSRFPrevention(),
      ...operationLimits(config.graphql, schema),
      ...schemaExposure(config.graphql),
      tidyRequestErrors(config.graphql),
      errorLogPlugin,
    ],
    context: async ({ request, req }) => {
      const requestId = requests.get(request)?.id ?? randomUUID();
      const headers = request.headers;
      try {
        return await createContext(
          { config, clock, logger, em: orm.em, authenticator, services, verifier, usageReports, tokenEventSource: bus, leaks, exchange, callerLimits },
          {
            authorization: headers.get('authorization'),
            cookie: headers.get('cookie'),
            // In-process requests (yoga.fetch) have no socket: only a trusted proxy header can say.
            clientIp: clientIpOf(req?.socket.remoteAddress, headers.get('x-forwarded-for'), config.trustProxyHops),
            method: request.method,
            endpoint: new URL(request.url).pathname,
            userAgent: headers.get('user-agent'),
          },
          requestId,
        );
      } catch (error) {
        if (isDatabaseUnavailable(error)) logger.warn({ requestId }, 'database unavailable: could not authenticate the request');
        else logger.error({ err: error, requestId }, 'could not build the request context');
        throw error;
      }
    },
  });

  return {
    yoga,
    handle: (req, res) => {
      const route = routes[`${req.method} ${(req.url ?? '/').split('?')[0]}`];
      if (route) void route(req, res);
      else void yoga(req, res);
    },
    isReady,
    verifier,
    usage,
    bus,
    signingKeys,
    endStreams: () => bus.endSubscriptions(),
    close: async () => {
      clearInterval(pruneTimer);
      await usage.close();
      await redis?.close();
    },
  };
}

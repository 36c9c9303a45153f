import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { RequestAuthenticator } from './authenticate.js';
import { SessionVerifier } from './auth/session-verifier.js';
import { createContext, type Context } from './context.js';
import { schema } from './schema.js';

export interface AppDependencies {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  clock?: Clock;
  /** The HS256 session secret in force (configured, or generated for development). */
  sessionSecret?: string;
}

export interface App {
  yoga: YogaServerInstance<Record<string, never>, Context>;
  /** The node:http request listener. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Whether the database answers: what /readyz reports. */
  isReady: () => Promise<boolean>;
}

const READY_TIMEOUT_MS = 2_000;
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
      ? new SessionVerifier({ ...config.auth, secret: deps.sessionSecret })
      : null;
  const authenticator = new RequestAuthenticator({
    sessionVerifier,
    tokenPrefix: config.tokens.prefix,
    clock,
  });
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
      endResponse(
        fetchAPI.Response.json(
          { status: ready ? 'ok' : 'unavailable', database: ready ? 'up' : 'unreachable' },
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
              args.contextValue.logger.error({ err: original, path: error.path }, 'unexpected error');
            }
          }
        },
      };
    },
  };

  const yoga = createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    graphiql: { title: 'Keymint', defaultQuery: GRAPHIQL_QUERY },
    maskedErrors: true,
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
    plugins: [requestLogPlugin, probesPlugin, useCSRFPrevention(), errorLogPlugin],
    context: async ({ request }) => {
      const requestId = requests.get(request)?.id ?? randomUUID();
      try {
        return await createContext(
          { config, clock, logger, em: orm.em, authenticator },
          request.headers,
          requestId,
        );
      } catch (error) {
        logger.error({ err: error, requestId }, 'could not build the request context');
        throw error;
      }
    },
  });

  return {
    yoga,
    handle: (req, res) => void yoga(req, res),
    isReady,
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { clientIpOf } from '../request/authenticate.js';
import { createContext, type Context, type ContextDependencies } from '../context.js';
import { schema } from '../schema.js';
import { operationLimits } from '../graphql/operation-limits.js';
import { schemaExposure } from '../graphql/schema-exposure.js';
import { maskedErrors, tidyRequestErrors } from '../graphql/error-masking.js';
import { domainErrorIn } from '../graphql/domain-errors.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import { scrubForLog } from '../redaction.js';
import { yogaRequestLog } from './request-log.js';

/** What node:http hands yoga along with each request. */
export type ServerContext = { req?: IncomingMessage; res?: ServerResponse };

export type GraphQLServer = YogaServerInstance<ServerContext, Context>;

export interface GraphQLServerDependencies {
  config: Config;
  logger: Logger;
  /** What each request's context is built from. */
  context: ContextDependencies;
  /** Answers /readyz before yoga looks for an operation. */
  readiness: Plugin;
}

/** A request is a document and its variables; a leak report of 1,000 secrets is about 60 KB. */
const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;

const GRAPHIQL_QUERY = `# Welcome to Keymint.
#
# 1. Get a session:  npm run session -- --email you@example.com --permission 'tools.*'
# 2. Open "Headers" below and paste:  { "Authorization": "Bearer <that JWT>" }
# 3. Run this, then try mintToken, tokens and revokeToken (see the README).

query Me {
  viewer { id email authMethod permissions }
}
`;

/** /graphql, /healthz and /readyz: yoga with its limits, masking, logging and per-request context. */
export function createGraphQLServer(deps: GraphQLServerDependencies): GraphQLServer {
  const { config, logger } = deps;
  const requestLog = yogaRequestLog(logger);
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    maxRequestBodySize: MAX_GRAPHQL_BODY_BYTES,
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    graphiql: config.graphql.graphiql ? { title: 'Keymint', defaultQuery: GRAPHIQL_QUERY } : false,
    maskedErrors,
    logging: yogaLogging(logger),
    plugins: [
      requestLog.plugin,
      deps.readiness,
      useCSRFPrevention(),
      ...operationLimits(config.graphql, schema),
      ...schemaExposure(config.graphql),
      tidyRequestErrors(config.graphql),
      errorLog,
    ],
    context: async ({ request, req }) => {
      const requestId = requestLog.requestIdOf(request);
      const headers = request.headers;
      try {
        return await createContext(
          deps.context,
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
}

/** Yoga's own log lines, as ours. */
function yogaLogging(logger: Logger): YogaLogger {
  return {
    debug: (...args) => logger.debug(args.map(String).join(' ')),
    info: (...args) => logger.info(args.map(String).join(' ')),
    warn: (...args) => logger.warn(args.map(String).join(' ')),
    // Yoga reports here the same failures that errorLog and the context factory have already
    // logged with their request id; keep its copy, with the stack, for debugging.
    error: (...args) => {
      const err = args.find((arg) => arg instanceof Error);
      // A refusal the masking answered with its code (FORBIDDEN, BAD_USER_INPUT...) is no failure.
      if (domainErrorIn(err)) return;
      logger.debug(err ? { err } : {}, args.filter((arg) => !(arg instanceof Error)).map(String).join(' ') || 'yoga error');
    },
  };
}

/**
 * Expected failures are typed results, domain errors or GraphQLErrors; anything else is a bug or an outage.
 * Yoga masks it in the response; here it is logged with the request id that the caller sees.
 */
const errorLog: Plugin<Context> = {
  onExecute() {
    return {
      onExecuteDone({ args, result }) {
        if (!('errors' in result) || !result.errors) return;
        for (const error of result.errors) {
          const original = error.originalError;
          if (!original || original instanceof GraphQLError || domainErrorIn(original)) continue;
          // An outage is not a bug: one warning per failed field, without the stack.
          if (isDatabaseUnavailable(original)) {
            args.contextValue.logger.warn({ path: error.path, cause: scrubForLog(String(original.message)).slice(0, 300) }, 'database unavailable');
          } else {
            args.contextValue.logger.error({ err: original, path: error.path }, 'unexpected error');
          }
        }
      },
    };
  },
};

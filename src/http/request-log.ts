import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';

/**
 * Every request, whichever door it comes through (a plain route or yoga), gets one id and one
 * access-log line. The id is the caller's `x-request-id` when it is sane, so a gateway can follow
 * its own id through our logs; it is echoed in the response and carried by every log line about
 * the request. The access line never holds the query string or headers, which may carry credentials.
 */

/** Short, printable, no spaces or quotes: safe to echo in a header and to log. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Logged at debug, not info: the load balancer's probes, and the routes resource servers call on
 * every request of their own, which would drown every other line.
 */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/v1/verify', '/oauth/introspect', '/.well-known/jwks.json']);

export interface RequestStart {
  id: string;
  startedAt: number;
}

/** The caller's request id when it is sane, else a fresh one. */
export function requestIdFrom(given: string | string[] | null | undefined): string {
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

export function startRequest(givenId: string | string[] | null | undefined): RequestStart {
  return { id: requestIdFrom(givenId), startedAt: performance.now() };
}

/** The one access-log line: `{requestId, method, path, status, ms}`, message "request". */
export function logRequest(
  logger: Logger,
  start: RequestStart,
  request: { method: string | undefined; path: string; status: number },
): void {
  logger[QUIET_PATHS.has(request.path) ? 'debug' : 'info'](
    {
      requestId: start.id,
      method: request.method,
      path: request.path,
      status: request.status,
      ms: Math.round((performance.now() - start.startedAt) * 10) / 10,
    },
    'request',
  );
}

export interface YogaRequestLog {
  plugin: Plugin;
  /** The id of a request yoga is serving (a fresh one for a request the plugin never saw). */
  requestIdOf(request: Request): string;
}

/** The same id and access line for the requests yoga serves. */
export function yogaRequestLog(logger: Logger): YogaRequestLog {
  const started = new WeakMap<Request, RequestStart>();
  return {
    plugin: {
      onRequest({ request }) {
        started.set(request, startRequest(request.headers.get('x-request-id')));
      },
      onResponse({ request, response }) {
        const start = started.get(request);
        if (!start) return;
        response.headers.set('x-request-id', start.id);
        logRequest(logger, start, { method: request.method, path: new URL(request.url).pathname, status: response.status });
      },
    },
    requestIdOf: (request) => started.get(request)?.id ?? randomUUID(),
  };
}

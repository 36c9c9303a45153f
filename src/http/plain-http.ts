import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { clientIpOf, type RequestFacts } from '../request/authenticate.js';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../db/availability.js';
import { DomainError, ServiceUnavailableError } from '../errors/errors.js';
import { logRequest, startRequest } from './request-log.js';
import { HttpError, sendError } from './rest-errors.js';

/**
 * What every plain route (src/http/router.ts) needs: a bounded body, JSON parsing, the request's
 * facts, and plainRoute around the handler. Small helpers, no framework.
 */

export type PlainHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

/**
 * The body, bounded: a resource server's request is small, and a flood of large ones is not. Past
 * the limit the rest is read and thrown away rather than the request destroyed, which would reset
 * the connection before the 413 could reach the client; the connection closes after the answer.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const tooLarge = () =>
    new HttpError('PAYLOAD_TOO_LARGE', `The body must be at most ${limitBytes} bytes`, { connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limitBytes) return;
      size += chunk.length;
      if (size > limitBytes) {
        chunks.length = 0;
        reject(tooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (size <= limitBytes) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpError('BAD_REQUEST', 'The body is not valid JSON');
  }
}

/** The path a request asked for, without its query string. */
export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

export function factsOf(req: IncomingMessage, trustProxyHops: number): RequestFacts {
  const header = (name: string): string | null => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : null;
  };
  return {
    authorization: header('authorization'),
    cookie: header('cookie'),
    clientIp: clientIpOf(req.socket.remoteAddress, header('x-forwarded-for'), trustProxyHops),
    method: req.method ?? 'GET',
    endpoint: pathOf(req),
    userAgent: header('user-agent'),
  };
}

/**
 * Runs a handler with what every route needs: a request id echoed in the response, one access
 * log line, expected failures as JSON errors, unexpected ones masked and logged.
 */
export function plainRoute(logger: Logger, handler: PlainHandler) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const start = startRequest(req.headers['x-request-id']);
    const requestId = start.id;
    res.setHeader('x-request-id', requestId);
    try {
      await handler(req, res, requestId);
    } catch (error) {
      const refusal = refusalFor(error, logger, requestId);
      // Too late for an answer of its own: cut the response short rather than end it as if whole.
      if (res.headersSent) res.destroy();
      else sendError(res, refusal, requestId);
    } finally {
      logRequest(logger, start, { method: req.method, path: pathOf(req), status: res.statusCode });
    }
  };
}

/** An expected refusal as it is; an outage as 503; anything else masked, and logged as a bug. */
function refusalFor(error: unknown, logger: Logger, requestId: string): HttpError | DomainError {
  if (error instanceof HttpError || error instanceof DomainError) return error;
  if (isDatabaseUnavailable(error)) {
    // An outage, not a bug: the caller should retry, here or on another instance.
    logger.warn({ requestId }, 'database unavailable');
    return new ServiceUnavailableError(RETRY_AFTER_SECONDS);
  }
  logger.error({ err: error, requestId }, 'unexpected error');
  return new HttpError('INTERNAL_SERVER_ERROR', 'Unexpected error.');
}

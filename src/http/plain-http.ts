import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { clientIpOf, type RequestFacts } from '../authenticate.js';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../db/availability.js';
import { redactSecrets } from '../redaction.js';
import { OUTAGE_MESSAGE } from '../modules/common/errors.js';
import { logRequest, startRequest } from './request-log.js';

/**
 * The few routes served on the bare node:http handler, before yoga: the hot path of
 * verification costs a fraction of yoga's per-request work. Small helpers, no framework.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function serviceUnavailable(): HttpError {
  return new HttpError(503, 'SERVICE_UNAVAILABLE', OUTAGE_MESSAGE, {
    'retry-after': String(RETRY_AFTER_SECONDS),
  });
}

export type PlainHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  // Details are field problems from a ValidationError, already redacted there.
  sendJson(
    res,
    error.status,
    { error: error.code, message: redactSecrets(error.message), ...(error.details ? { details: error.details } : {}) },
    error.headers,
  );
}

/**
 * The body, bounded: a resource server's request is small, and a flood of large ones is not. Past
 * the limit the rest is read and thrown away rather than the request destroyed, which would reset
 * the connection before the 413 could reach the client; the connection closes after the answer.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const tooLarge = () =>
    new HttpError(413, 'PAYLOAD_TOO_LARGE', `The body must be at most ${limitBytes} bytes`, { connection: 'close' });
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
    throw new HttpError(400, 'BAD_REQUEST', 'The body is not valid JSON');
  }
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
    endpoint: (req.url ?? '/').split('?')[0]!,
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
      if (error instanceof HttpError) {
        sendError(res, error);
      } else if (isDatabaseUnavailable(error)) {
        // An outage, not a bug: the caller should retry, here or on another instance.
        logger.warn({ requestId }, 'database unavailable');
        if (!res.headersSent) sendError(res, serviceUnavailable());
        else res.destroy();
      } else {
        logger.error({ err: error, requestId }, 'unexpected error');
        if (!res.headersSent) sendError(res, new HttpError(500, 'INTERNAL', 'Unexpected error.'));
        else res.destroy();
      }
    } finally {
      logRequest(logger, start, { method: req.method, path: (req.url ?? '/').split('?')[0]!, status: res.statusCode });
    }
  };
}

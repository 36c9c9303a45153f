import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { clientIpOf, type RequestFacts } from '../authenticate.js';

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

export type PlainHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(
    res,
    error.status,
    { error: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) },
    error.headers,
  );
}

/** The body, bounded: a resource server's request is small, and a flood of large ones is not. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `The body must be at most ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `The body must be at most ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
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
export function plainRoute(logger: Logger, handler: PlainHandler, accessLogLevel: 'info' | 'debug' = 'info') {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdOf(req);
    const startedAt = performance.now();
    res.setHeader('x-request-id', requestId);
    try {
      await handler(req, res, requestId);
    } catch (error) {
      if (error instanceof HttpError) {
        sendError(res, error);
      } else {
        logger.error({ err: error, requestId }, 'unexpected error');
        if (!res.headersSent) sendError(res, new HttpError(500, 'INTERNAL', 'Unexpected error.'));
        else res.destroy();
      }
    } finally {
      logger[accessLogLevel](
        {
          requestId,
          method: req.method,
          path: (req.url ?? '/').split('?')[0],
          status: res.statusCode,
          ms: Math.round((performance.now() - startedAt) * 10) / 10,
        },
        'request',
      );
    }
  };
}

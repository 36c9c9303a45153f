import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { requestIdFrom } from './http/request-log.js';
import { HttpError, sendError } from './http/rest-errors.js';

/**
 * Graceful drain of a node:http server. Once started, no new request is served: the listening
 * socket closes, idle keep-alive connections close at once, a request that still arrives on an open
 * connection is answered 503 with `Connection: close`, and every response still in flight is sent
 * with `Connection: close`, so its connection ends with it. `drained` resolves when the last
 * connection is gone.
 */
export interface Drain {
  /** The request listener to give the server: passes requests on until the drain starts. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  start(): Promise<void>;
  /** How many requests are being served now. */
  readonly inFlight: number;
  /** Ends every connection at once (the deadline passed). */
  forceClose(): void;
}

const SWEEP_MS = 100;

export function createDrain(server: Server, next: (req: IncomingMessage, res: ServerResponse) => void): Drain {
  const active = new Set<ServerResponse>();
  let draining = false;
  let drained: Promise<void> | null = null;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (draining) {
      const requestId = requestIdFrom(req.headers['x-request-id']);
      res.setHeader('x-request-id', requestId);
      sendError(res, new HttpError('SHUTTING_DOWN', 'This instance is shutting down: retry on another one', { connection: 'close', 'retry-after': '0' }), requestId);
      return;
    }
    active.add(res);
    res.once('close', () => active.delete(res));
    next(req, res);
  };

  const start = () => {
    if (drained) return drained;
    draining = true;
    for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
    drained = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A connection whose response just finished is idle now: close it before it carries another request.
    const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
    sweep.unref();
    void drained.finally(() => clearInterval(sweep));
    return drained;
  };

  return {
    handle,
    start,
    get inFlight() {
      return active.size;
    },
    forceClose: () => server.closeAllConnections(),
  };
}

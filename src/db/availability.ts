/**
 * Whether a failure means "the database cannot serve right now" (it is down, restarting, out of
 * connections, or too slow for the statement timeout) rather than "this statement is wrong". The
 * first kind is an outage: callers get 503 with Retry-After and background work retries; the
 * second is a bug or bad data, and retrying it would fail the same way.
 */

export type Unavailability = 'unreachable' | 'timeout';

/** SQLSTATE classes and codes that describe the server's state, not the statement. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
  '53100', // disk_full
  '53200', // out_of_memory
  '58030', // io_error
]);

const TIMEOUT_SQLSTATES = new Set([
  '57014', // query_canceled: the statement timeout fired
  '55P03', // lock_not_available: lock_timeout
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** What node-postgres and knex say when a connection dies, times out or cannot be had. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'Timeout acquiring a connection',
  'connection timeout',
  'Connection ended unexpectedly',
  'terminating connection due to administrator command',
  // The pool is gone (closed while requests were still arriving), or the embedded database is.
  'Unable to acquire a connection',
  'PGlite is closed',
  // knex swallows the error of a BEGIN sent on a connection that just died, hands the transaction
  // out anyway, and answers the first statement in it with this, the connection error lost. Keymint
  // never queries a transaction after its end, so here it means exactly that dead connection.
  'Transaction query already complete',
];

export function unavailability(error: unknown, depth = 0): Unavailability | null {
  if (depth > 5 || typeof error !== 'object' || error === null) return null;
  const { code, message, name, cause, errors, originalError } = error as {
    code?: unknown;
    message?: unknown;
    name?: unknown;
    cause?: unknown;
    errors?: unknown;
    originalError?: unknown;
  };
  if (typeof code === 'string') {
    if (TIMEOUT_SQLSTATES.has(code)) return 'timeout';
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || NETWORK_CODES.has(code)) return 'unreachable';
  }
  if (name === 'KnexTimeoutError' || name === 'ConnectionException') return 'unreachable';
  if (typeof message === 'string' && CONNECTION_MESSAGES.some((text) => message.includes(text))) return 'unreachable';
  for (const inner of [cause, originalError, ...(Array.isArray(errors) ? errors : [])]) {
    const found = unavailability(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return unavailability(error) !== null;
}

/** How long a caller should wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

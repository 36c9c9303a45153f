import type { ServerResponse } from 'node:http';
import { HTTP_STATUS, type ErrorCode } from '../errors/error-codes.js';
import { type DomainError, UnauthenticatedError, ValidationError } from '../errors/errors.js';
import { redactSecrets } from '../redaction.js';
import { sendJson } from './json-response.js';

/**
 * The plain routes' side of the error vocabulary: every refusal is
 * `{"error": <code>, "message", "requestId", "details"?}` with the code's HTTP status.
 */

/** RFC 7662 names its own error for a malformed introspection request; OAuth clients expect it. */
type RestErrorCode = ErrorCode | 'invalid_request';

/** A refusal of the HTTP exchange itself (a body too large, not JSON, the wrong shape). */
export class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: RestErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = code === 'invalid_request' ? 400 : HTTP_STATUS[code];
  }
}

/** The refusal as the caller gets it; the request id lets them (and us) find its log lines. */
export function sendError(res: ServerResponse, error: HttpError | DomainError, requestId: string): void {
  const { status, headers, details } = error instanceof HttpError ? { status: error.status, headers: error.headers } : restShapeOf(error);
  sendJson(res, status, { error: error.code, message: redactSecrets(error.message), requestId, ...(details ? { details } : {}) }, headers);
}

function restShapeOf(error: DomainError): { status: number; headers: Record<string, string>; details?: unknown } {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds) headers['retry-after'] = String(error.retryAfterSeconds);
  // RFC 6750: a resource refusing a bearer credential names the scheme it wants.
  else if (error instanceof UnauthenticatedError) headers['www-authenticate'] = 'Bearer';
  return {
    status: HTTP_STATUS[error.code],
    headers,
    // Field problems, already redacted by ValidationError.
    details: error instanceof ValidationError && error.fieldErrors.length > 0 ? error.fieldErrors : undefined,
  };
}

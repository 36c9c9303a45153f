/**
 * Every error code Keymint answers, through either door, with the HTTP status that goes
 * with it. GraphQL puts the code in `extensions.code`, the REST routes in `{"error": <code>}`.
 * A code is added here before anything may answer it. The one exception is /oauth/introspect,
 * which answers RFC 7662's lower-case `invalid_request` because OAuth clients expect exactly that.
 *
 * Yoga refuses a few requests before Keymint's code sees them, with codes of its own:
 * GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED (400) and REQUEST_ENTITY_TOO_LARGE (413).
 */
export type ErrorCode =
  // The request is wrong: nothing was done.
  | 'BAD_REQUEST' // a REST body that is not JSON, not the expected shape, or breaks a rule (`details`)
  | 'BAD_USER_INPUT' // a GraphQL argument or variable out of range or of the wrong shape
  | 'PAYLOAD_TOO_LARGE'
  | 'QUERY_TOO_LARGE' // the operation limits: see src/graphql/operation-limits.ts
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_DIRECTIVES'
  // The caller is refused.
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND' // also what an object the caller may not see looks like
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'USAGE_EXCEEDED' // an API token's lifetime quota is spent
  // Keymint cannot answer.
  | 'INTERNAL_SERVER_ERROR' // masked: the cause is logged under the request id
  | 'SERVICE_UNAVAILABLE' // the database is unreachable or too slow: retry
  | 'SHUTTING_DOWN'; // this instance is draining: retry on another one

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  PAYLOAD_TOO_LARGE: 413,
  QUERY_TOO_LARGE: 400,
  QUERY_TOO_DEEP: 400,
  QUERY_TOO_COMPLEX: 400,
  TOO_MANY_ALIASES: 400,
  TOO_MANY_DIRECTIVES: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  USAGE_EXCEEDED: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
};

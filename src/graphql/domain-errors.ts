import { GraphQLError } from 'graphql';
import { HTTP_STATUS, type ErrorCode } from '../errors/error-codes.js';
import { BadUserInputError, DomainError } from '../errors/errors.js';

/**
 * The GraphQL door's side of the error vocabulary. A domain error that no result union took in
 * reaches the client as a GraphQL error with its code in `extensions.code`, and with what the code
 * needs: `argument` for BAD_USER_INPUT, `retryAfterSeconds` (and Retry-After) when the refusal
 * passes.
 */

/**
 * Codes that refuse the caller or the moment (who they are, what they may do, how often, an
 * outage) set the response's HTTP status, so clients and load balancers can act on it. The others
 * are about one field: the rest of the operation still answers, with HTTP 200.
 */
const SETS_THE_STATUS: ReadonlySet<ErrorCode> = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'USAGE_EXCEEDED', 'SERVICE_UNAVAILABLE']);

/** The domain error behind an error graphql-js or yoga hands over, if there is one. */
export function domainErrorIn(error: unknown): DomainError | null {
  for (let current = error, depth = 0; depth < 5; depth += 1) {
    if (current instanceof DomainError) return current;
    if (!(current instanceof GraphQLError)) return null;
    current = current.originalError;
  }
  return null;
}

/**
 * The GraphQL error a client gets for a domain error; `at` is the located error graphql-js made of
 * it, whose place in the operation (path, locations) the answer keeps.
 */
export function graphqlErrorOf(error: DomainError, at?: GraphQLError): GraphQLError {
  const retryAfter = error.retryAfterSeconds;
  return new GraphQLError(error.message, {
    nodes: at?.nodes,
    source: at?.source,
    positions: at?.positions,
    path: at?.path,
    extensions: {
      code: error.code,
      ...(error instanceof BadUserInputError ? { argument: error.argument } : {}),
      ...(retryAfter ? { retryAfterSeconds: retryAfter } : {}),
      ...(SETS_THE_STATUS.has(error.code)
        ? { http: { status: HTTP_STATUS[error.code], headers: retryAfter ? { 'retry-after': String(retryAfter) } : {} } }
        : {}),
    },
  });
}

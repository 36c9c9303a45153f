import { GraphQLError } from 'graphql';
import { redactSecrets } from '../../redaction.js';

/**
 * Expected failures. The first four (and RateLimitedError) are members of the mutations' result unions (errors plugin);
 * the GraphQL-error ones carry `extensions.code` and an HTTP status for fields without a union.
 */

export interface FieldProblem {
  /** Where in the input the problem is, e.g. ["permissions", "2"]. */
  path: string[];
  message: string;
}

export class ValidationError extends Error {
  readonly fieldErrors: FieldProblem[];

  /** Messages quote what was refused; never a secret pasted where it did not belong. */
  constructor(message: string, fieldErrors: FieldProblem[] = []) {
    super(redactSecrets(message));
    this.name = 'ValidationError';
    this.fieldErrors = fieldErrors.map((problem) => ({ path: problem.path, message: redactSecrets(problem.message) }));
  }

  static forField(path: string[], message: string): ValidationError {
    return new ValidationError(message, [{ path, message }]);
  }
}

export class NotFoundError extends Error {
  constructor(message = 'Not found') {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends Error {
  /** It may quote a name the caller chose: never a secret pasted there. */
  constructor(message: string) {
    super(redactSecrets(message));
    this.name = 'ConflictError';
  }
}

/**
 * The caller is known but may not do this. A GraphQLError too, so that where a field has no
 * result union it still reaches the client with `extensions.code` FORBIDDEN and HTTP 403.
 */
export class ForbiddenError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
    this.name = 'ForbiddenError';
  }
}

/** Why a request has no principal, as the caller will be told. */
export interface AuthenticationFailure {
  message: string;
  /** UNAUTHENTICATED (401), or RATE_LIMITED / USAGE_EXCEEDED (429) for an API token over its limits. */
  code: 'UNAUTHENTICATED' | 'RATE_LIMITED' | 'USAGE_EXCEEDED';
  retryAfterSeconds?: number | null;
}

/** No credentials, credentials that did not verify, or an API token refused for its limits. */
export class UnauthenticatedError extends GraphQLError {
  constructor(failure: AuthenticationFailure) {
    const limited = failure.code !== 'UNAUTHENTICATED';
    const headers: Record<string, string> = {};
    if (failure.retryAfterSeconds) headers['retry-after'] = String(failure.retryAfterSeconds);
    super(failure.message, {
      extensions: {
        code: failure.code,
        ...(failure.retryAfterSeconds ? { retryAfterSeconds: failure.retryAfterSeconds } : {}),
        http: { status: limited ? 429 : 401, headers },
      },
    });
    this.name = 'UnauthenticatedError';
  }
}

/** An argument outside its documented range on a query field. */
export class BadUserInputError extends GraphQLError {
  constructor(message: string, argument: string) {
    super(message, { extensions: { code: 'BAD_USER_INPUT', argument } });
    this.name = 'BadUserInputError';
  }
}

/**
 * Too many changes from one caller, or leak reports from one address: a member of the mutations'
 * result unions (HTTP 200, like the other expected failures), saying when to try again.
 */
export class RateLimitedError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}

/** What a caller is told during an outage, through either door. */
export const OUTAGE_MESSAGE = 'Keymint cannot reach its database right now: try again shortly';

/** The database cannot be reached: HTTP 503 with Retry-After, never a masked 500. */
export class ServiceUnavailableError extends GraphQLError {
  constructor(retryAfterSeconds: number) {
    super(OUTAGE_MESSAGE, {
      extensions: {
        code: 'SERVICE_UNAVAILABLE',
        retryAfterSeconds,
        http: { status: 503, headers: { 'retry-after': String(retryAfterSeconds) } },
      },
    });
    this.name = 'ServiceUnavailableError';
  }
}

/**
 * For a nullable field's unauthorizedResolver: a hidden object (NotFoundError from the visibility
 * scopes) is a plain null with no error entry, exactly like a missing one; any other refusal stands.
 */
export function nullIfHidden(error: Error): null {
  if (error instanceof NotFoundError) return null;
  throw error;
}

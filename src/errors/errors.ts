import { redactSecrets } from '../redaction.js';
import type { ErrorCode } from './error-codes.js';

/**
 * Expected failures, as the services throw them: plain errors that know their code, and nothing of
 * GraphQL or HTTP. ValidationError, NotFoundError, ConflictError, ForbiddenError and
 * RateLimitedError are members of the mutations' result unions (errors plugin). Anywhere else each
 * door answers the error's code with its status: src/graphql/domain-errors.ts for GraphQL
 * (`extensions.code`), src/http/rest-errors.ts for the plain routes (`{"error": code}`).
 */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** When the caller may try again, for a refusal that passes: sent as Retry-After. */
  readonly retryAfterSeconds: number | null = null;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  /** Where in the input the problem is, e.g. ["permissions", "2"]. */
  path: string[];
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = 'BAD_REQUEST';
  readonly fieldErrors: FieldProblem[];

  /** Messages quote what was refused; never a secret pasted where it did not belong. */
  constructor(message: string, fieldErrors: FieldProblem[] = []) {
    super(redactSecrets(message));
    this.fieldErrors = fieldErrors.map((problem) => ({ path: problem.path, message: redactSecrets(problem.message) }));
  }

  static forField(path: string[], message: string): ValidationError {
    return new ValidationError(message, [{ path, message }]);
  }

  /** Every problem found in one input, in one error whose message lists them all. */
  static of(problems: FieldProblem[]): ValidationError {
    return new ValidationError(problems.map((problem) => problem.message).join('; '), problems);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';

  constructor(message = 'Not found') {
    super(message);
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';

  /** It may quote a name the caller chose: never a secret pasted there. */
  constructor(message: string) {
    super(redactSecrets(message));
  }
}

/** The caller is known but may not do this: FORBIDDEN (HTTP 403) where a field has no result union. */
export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
}

/** Why a request has no principal, as the caller will be told. */
export interface AuthenticationFailure {
  message: string;
  /** UNAUTHENTICATED (401), or RATE_LIMITED / USAGE_EXCEEDED (429) for an API token over its limits. */
  code: 'UNAUTHENTICATED' | 'RATE_LIMITED' | 'USAGE_EXCEEDED';
  retryAfterSeconds?: number | null;
}

/** No credentials, credentials that did not verify, or an API token refused for its limits. */
export class UnauthenticatedError extends DomainError {
  readonly code: AuthenticationFailure['code'];
  override readonly retryAfterSeconds: number | null;

  constructor(failure: AuthenticationFailure) {
    super(failure.message);
    this.code = failure.code;
    this.retryAfterSeconds = failure.retryAfterSeconds || null;
  }
}

/** An argument outside its documented range on a query field; `argument` names it. */
export class BadUserInputError extends DomainError {
  readonly code = 'BAD_USER_INPUT';

  constructor(
    message: string,
    readonly argument: string,
  ) {
    super(message);
  }
}

/**
 * Too many changes from one caller, or leak reports from one address: a member of the mutations'
 * result unions (HTTP 200, like the other expected failures), saying when to try again.
 */
export class RateLimitedError extends DomainError {
  readonly code = 'RATE_LIMITED';

  constructor(
    message: string,
    override readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** What a caller is told during an outage, through either door. */
export const OUTAGE_MESSAGE = 'Keymint cannot reach its database right now: try again shortly';

/** The database cannot be reached: HTTP 503 with Retry-After, never a masked 500. */
export class ServiceUnavailableError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';

  constructor(override readonly retryAfterSeconds: number) {
    super(OUTAGE_MESSAGE);
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

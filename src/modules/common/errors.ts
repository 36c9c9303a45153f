import { GraphQLError } from 'graphql';

/**
 * Expected failures. The first four are members of the mutations' result unions (errors plugin);
 * the GraphQL-error ones carry `extensions.code` and an HTTP status for fields without a union.
 */

export interface FieldProblem {
  /** Where in the input the problem is, e.g. ["permissions", "2"]. */
  path: string[];
  message: string;
}

export class ValidationError extends Error {
  constructor(
    message: string,
    readonly fieldErrors: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'ValidationError';
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
  constructor(message: string) {
    super(message);
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

/** No credentials, or credentials that did not verify: HTTP 401. */
export class UnauthenticatedError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
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

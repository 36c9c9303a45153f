import { builder } from '../../builder.js';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError, type FieldProblem } from '../../errors/errors.js';

/** The `Error` interface and the typed errors that appear as members of result unions. */

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure, returned as a member of a mutation result union.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const FieldErrorRef = builder.objectRef<FieldProblem>('FieldError').implement({
  description: 'One invalid input field: where it is (e.g. ["permissions", "2"]) and what is wrong.',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input broke a rule; nothing was changed. `fieldErrors` lists every problem.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorRef], resolve: (error) => error.fieldErrors }),
  }),
});

/** A member of result unions with nothing more to say than its message. */
function plainErrorType(type: typeof NotFoundError | typeof ConflictError | typeof ForbiddenError, description: string) {
  builder.objectType(type, { name: type.name, description, interfaces: [ErrorInterface], isTypeOf: (value) => value instanceof type });
}

plainErrorType(NotFoundError, 'The object does not exist, or is not visible to the caller: the two look the same.');
plainErrorType(ConflictError, 'The change collides with existing state, e.g. an active token with the same name.');
plainErrorType(ForbiddenError, 'The caller is authenticated but may not do this (e.g. an API token without the permission).');

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  description: 'Too many requests of this kind from this caller (or address): nothing was changed; retry after `retryAfterSeconds`.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof RateLimitedError,
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'When the budget allows another one.' }),
  }),
});

import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type Plugin, type YogaServerOptions } from 'graphql-yoga';
import { RETRY_AFTER_SECONDS, unavailability } from '../db/availability.js';
import { ServiceUnavailableError } from '../errors/errors.js';
import { redactSecrets } from '../redaction.js';
import { domainErrorIn, graphqlErrorOf } from './domain-errors.js';

/**
 * What a caller sees of a failure. An outage (the database unreachable, or a statement over its
 * timeout) is SERVICE_UNAVAILABLE with HTTP 503 and Retry-After, so clients and load balancers
 * retry; an expected refusal (a domain error no result union took in) is its code; anything else
 * unexpected stays masked ("Unexpected error.") and is logged with the request id.
 */
export const maskedErrors: NonNullable<YogaServerOptions<object, object>['maskedErrors']> = {
  maskError: (error, message, isDev) => {
    if (unavailability(error)) return graphqlErrorOf(new ServiceUnavailableError(RETRY_AFTER_SECONDS));
    const expected = domainErrorIn(error);
    if (expected) return graphqlErrorOf(expected, error instanceof GraphQLError ? error : undefined);
    return yogaMaskError(error, message, isDev);
  },
};

/**
 * Errors about the request itself, as the caller gets them. graphql-js quotes the offending value
 * in parse, validation and variable errors ("got invalid value ..."), and a caller may paste a
 * token where it does not belong: such a value is never echoed back. A variable or argument that
 * does not coerce is the caller's mistake like any other: BAD_USER_INPUT, not an error without a
 * code. And without field suggestions (production), no "Did you mean ...?" survives anywhere, in
 * variable and enum errors raised at execution as much as in validation.
 */
/** What graphql-js says when a variable does not coerce, or when too many do not. */
const INPUT_ERROR = /^(Variable "\$|Too many errors processing variables|Argument ")/;
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export function tidyRequestErrors(options: { fieldSuggestions: boolean }): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: readonly GraphQLError[] } | null)?.errors;
        for (const error of errors ?? []) {
          if (!(error instanceof GraphQLError)) continue;
          let message = redactSecrets(error.message);
          if (!options.fieldSuggestions) message = message.replace(SUGGESTION, '');
          if (message !== error.message) error.message = message;
          if (error.extensions.code === undefined && INPUT_ERROR.test(error.message)) {
            (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
          }
        }
      }
    },
  };
}

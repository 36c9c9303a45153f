import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { complexityFromQuery } from '@pothos/plugin-complexity';
import type { Config } from '../config.js';
import type { ErrorCode } from '../errors/error-codes.js';

/**
 * What one GraphQL operation may ask for, checked before any resolver runs: its size in tokens
 * (while parsing), its depth, aliases and directives (graphql-armor's validation rules), and its
 * cost (the weights each field declares through @pothos/plugin-complexity, with lists counted as
 * their page size times what they select). A refusal is a GraphQL error whose extensions.code
 * names the limit, so a client can tell "too big" from "wrong".
 */

export const LIMIT_CODES = {
  tokens: 'QUERY_TOO_LARGE',
  depth: 'QUERY_TOO_DEEP',
  aliases: 'TOO_MANY_ALIASES',
  directives: 'TOO_MANY_DIRECTIVES',
  cost: 'QUERY_TOO_COMPLEX',
} as const satisfies Record<string, ErrorCode>;

type Limits = Config['graphql'];

function limitError(code: ErrorCode, message: string, limit: number, found?: number): GraphQLError {
  return new GraphQLError(message, {
    // No HTTP status of its own: yoga answers it like any other parse or validation error.
    extensions: { code, limit, ...(found === undefined ? {} : { found }) },
  });
}

/** graphql-armor reports "Syntax Error: <what> limit of N exceeded, found M."; the count is the last number. */
function foundIn(message: string): number | undefined {
  const match = /found (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** Reports the refusal as a validation error of its own code, beside the other validation errors. */
function reportAs(code: ErrorCode, what: string, limit: number) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const found = foundIn(error.message);
    const refusal = limitError(code, `${what}: the limit is ${limit}${found === undefined ? '' : `, this operation has ${found}`}`, limit, found);
    if (context) context.reportError(refusal);
    else throw refusal;
  };
}

export function operationLimits(limits: Limits, schema: GraphQLSchema): Plugin[] {
  return [
    maxTokensPlugin({
      n: limits.maxTokens,
      // Thrown from inside the lexer: parsing stops at the first token over the limit.
      onReject: [reportAs(LIMIT_CODES.tokens, 'Query too large (tokens)', limits.maxTokens)],
    }),
    maxDepthPlugin({
      n: limits.maxDepth,
      flattenFragments: true,
      ignoreIntrospection: true,
      propagateOnRejection: false,
      onReject: [reportAs(LIMIT_CODES.depth, 'Query too deep', limits.maxDepth)],
    }),
    maxAliasesPlugin({
      n: limits.maxAliases,
      propagateOnRejection: false,
      onReject: [reportAs(LIMIT_CODES.aliases, 'Too many aliases', limits.maxAliases)],
    }),
    maxDirectivesPlugin({
      n: limits.maxDirectives,
      propagateOnRejection: false,
      onReject: [reportAs(LIMIT_CODES.directives, 'Too many directives', limits.maxDirectives)],
    }),
    costLimit(limits.maxCost, schema),
  ] as Plugin[];
}

/**
 * The cost check runs once the document is known to be valid (no unknown fields, no fragment
 * cycles), on the operation that will actually run, with its variables coerced: `first: $n`
 * costs what $n says.
 */
function costLimit(maxCost: number, schema: GraphQLSchema): Plugin {
  return {
    onValidate({ params, context }) {
      const request = (context as { params?: { operationName?: string | null; variables?: Record<string, unknown> | null } }).params;
      return ({ valid, result, setResult }) => {
        if (!valid) return;
        const cost = operationCost(params.documentAST, request?.operationName ?? undefined, request?.variables ?? {}, schema);
        if (cost.kind === 'refused') {
          setResult([...result, cost.error]);
        } else if (cost.kind === 'cost' && cost.cost > maxCost) {
          setResult([
            ...result,
            limitError(LIMIT_CODES.cost, `Query too complex: it costs ${cost.cost}, the limit is ${maxCost}`, maxCost, cost.cost),
          ]);
        }
      };
    },
  };
}

export type OperationCost =
  | { kind: 'cost'; cost: number }
  /** Execution will refuse the whole operation anyway (no such operation, variables that do not coerce). */
  | { kind: 'none' }
  /** Its cost cannot be known (an argument that execution would refuse for one field only): refused now. */
  | { kind: 'refused'; error: GraphQLError };

/**
 * The cost of the operation a request names. It fails closed: an operation whose arguments make
 * the cost impossible to compute (a null for a required argument, say, which fails that one field
 * and lets the others run) is refused, not waved through uncosted.
 */
export function operationCost(
  document: DocumentNode,
  operationName: string | undefined,
  rawVariables: Record<string, unknown>,
  schema: GraphQLSchema,
): OperationCost {
  const operation = getOperationAST(document, operationName);
  if (!operation) return { kind: 'none' };
  if (getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables, { maxErrors: 1 }).errors) return { kind: 'none' };
  // complexityFromQuery reads the first operation of a document: give it only this one.
  const fragments = document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION);
  const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] };
  try {
    return { kind: 'cost', cost: complexityFromQuery(single, { schema, variables: rawVariables }).complexity };
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    return { kind: 'refused', error: new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT' } }) };
  }
}

import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import RateLimitPlugin from './graphql/rate-limit.plugin.js';
import TextInputPlugin from './graphql/text-input.plugin.js';
import { getNamedType, getNullableType, GraphQLError, GraphQLObjectType, isLeafType, isListType, Kind } from 'graphql';
import type { Context } from './context.js';
import type { TokenAction } from './auth/principal.js';
import type { Principal } from './auth/principal.js';
import type { Team } from './modules/team/team.entity.js';
import type { Revocation } from './modules/token/revocation.entity.js';
import type { Token } from './modules/token/token.entity.js';
import type { User } from './modules/user/user.entity.js';
import { BadUserInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from './modules/common/errors.js';
import { unstorableText, unstorableTextMessage } from './text.js';
import { decodeGlobalId, encodeGlobalId, UNKNOWN_TYPE } from './global-id.js';

/**
 * The schema builder: plugins, scalars and the authorization vocabulary. It defines no object
 * types; each module adds its own.
 */
export interface AuthScopes {
  /** A verified session or an active API token. */
  authenticated: boolean;
  /** A signed-in user, not an API token. */
  session: boolean;
  /** A signed-in administrator. */
  admin: boolean;
  /** Token management: always allowed to a session, only explicitly to an API token. */
  tokenPermission: TokenAction;
  /** Whether the caller may see this token (by entity or by id). Hidden looks like absent. */
  tokenVisible: Token | string;
  /** Whether the caller may change this token (by id), beyond seeing it. */
  tokenChangeable: string;
  /** Whether the caller may receive a new secret for this token (by id): its owner or its own lineage. */
  tokenRotatable: string;
  /** May verify other people's tokens: holds tokens.verify (an API token: in its own list). */
  verifier: boolean;
  /** A member of this team (loaded, or by global id), or an administrator. Anyone else finds no team. */
  teamMember: Team | string;
  /** An OWNER of this team (loaded, or by global id), or an administrator. */
  teamOwner: Team | string;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: AuthScopes;
  DefaultAuthStrategy: 'all';
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    Date: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
  // Named here so that modules refer to each other's types by name, never by importing schema files.
  Objects: {
    User: User;
    Team: Team;
    Token: Token;
    Revocation: Revocation;
    Viewer: Principal;
  };
}>({
  // Earlier plugins wrap later ones. Everything inside the errors plugin can throw a registered
  // error class and have it become a member of a result union: unstorable text is refused first
  // (before a scope looks anything up), then scope-auth's failures (ForbiddenError, NotFoundError),
  // then the caller's rate limit, spent only once the call is allowed.
  plugins: [ErrorsPlugin, TextInputPlugin, ScopeAuthPlugin, RelayPlugin, ComplexityPlugin, RateLimitPlugin],
  defaultFieldNullability: false,
  // Fields declare what they cost (`complexity`); src/graphql/operation-limits.ts adds it up and
  // refuses an operation over GRAPHQL_MAX_COST before execution, so the plugin's own check, which
  // runs inside the first root resolver, is off.
  complexity: {
    // A scalar costs 1, an object 2 (its own authorization and type checks weigh as much as a
    // field), and a list counts what it selects ten times, unless a field says otherwise.
    fieldComplexity: (_args, _ctx, field) => ({
      field: isLeafType(getNamedType(field.type)) ? 1 : 2,
      multiplier: isListType(getNullableType(field.type)) ? 10 : 1,
    }),
    disabled: true,
  },
  scopeAuth: {
    defaultStrategy: 'all',
    // A subscription is refused when it is created, not silently at each event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ctx.authScopes,
    unauthorizedError: (_parent, ctx, _info, result) => authorizationError(ctx, result.failure),
  },
  errors: {
    directResult: true,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    nodeQueryOptions: {
      authScopes: { authenticated: true },
      // A malformed or unknown id is simply absent, like an object the caller may not see.
      // So is an id of a type that is not a Node (a User).
      resolve: (_root, { id }, _ctx, info, resolveNode) => {
        // The relay plugin decodes the id before any resolver wrapper sees it: check the text here.
        // (A malformed id decodes to itself, so `id.id` is what the caller sent.)
        if (unstorableText(id.id)) throw new BadUserInputError(unstorableTextMessage('id'), 'id');
        const type = id.typename === UNKNOWN_TYPE ? undefined : info.schema.getType(id.typename);
        const isNode = type instanceof GraphQLObjectType && type.getInterfaces().some((i) => i.name === 'Node');
        return isNode ? resolveNode(id) : null;
      },
    },
    nodesQueryOptions: false,
    // A connection field already multiplies by its page size; its edges list must not again.
    edgesFieldOptions: { complexity: { field: 0, multiplier: 1 } },
  },
});

/**
 * One mapping from a failed scope to what the caller sees: no credentials is UNAUTHENTICATED,
 * a missing management permission is FORBIDDEN, and an object the caller may not see is
 * indistinguishable from one that does not exist.
 */
function authorizationError(ctx: Context, failure: AuthFailure): Error {
  if (!ctx.principal) {
    return new UnauthenticatedError(ctx.authFailure ?? { message: 'Authentication required', code: 'UNAUTHENTICATED' });
  }
  const all = failedScopes(failure);
  // Alternatives ($any: e.g. "admin, or allowed to change this token") only decide once the object
  // is known to be visible; a required scope that failed is decided first.
  const failed = new Map(all.filter((f) => !f.alternative).map((f) => [f.scope, f.parameter]));
  const anywhere = new Set(all.map((f) => f.scope));
  // Refusals that depend only on the caller come first: they reveal nothing about any object.
  if (failed.has('session')) return new ForbiddenError('This needs a signed-in user, not an API token');
  if (failed.has('admin')) return new ForbiddenError('Administrators only');
  if (failed.has('tokenPermission')) {
    return new ForbiddenError(
      `This API token may not do this: its own permissions must include '${String(failed.get('tokenPermission'))}'`,
    );
  }
  if (failed.has('verifier')) {
    return new ForbiddenError("Verifying tokens needs the 'tokens.verify' permission (an API token must name it in its own list)");
  }
  // Then objects the caller may not see: exactly as if they did not exist.
  if (failed.has('teamMember')) return new NotFoundError('Team not found');
  if (failed.has('tokenVisible')) return new NotFoundError('Token not found');
  // Last, objects the caller sees but may not act on.
  if (anywhere.has('teamOwner')) return new ForbiddenError('Only the team’s owners may do this');
  if (anywhere.has('tokenRotatable')) {
    return new ForbiddenError(
      "Only the token's owner (or an API token of its own lineage holding tokens.update) may rotate it: a new secret would act as the owner. Team owners and administrators may revoke it instead.",
    );
  }
  if (anywhere.has('tokenChangeable')) return new ForbiddenError('You may see this token but not change it');
  return new ForbiddenError('Not allowed');
}

function failedScopes(failure: AuthFailure, alternative = false): { scope: string; parameter: unknown; alternative: boolean }[] {
  switch (failure.kind) {
    case AuthScopeFailureType.AuthScope:
      return [{ scope: failure.scope, parameter: failure.parameter, alternative }];
    case AuthScopeFailureType.AllAuthScopes:
      return failure.failures.flatMap((f) => failedScopes(f, alternative));
    case AuthScopeFailureType.AnyAuthScopes:
      return failure.failures.flatMap((f) => failedScopes(f, true));
    default:
      return [];
  }
}

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO-8601 string with a time zone (e.g. 2026-01-31T12:00:00Z).',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw invalidDateTime();
    return parseDateTime(ast.value);
  },
});

builder.scalarType('Date', {
  description: 'A calendar day, as YYYY-MM-DD (UTC where it stands for a period).',
  serialize: (value) => value,
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw invalidDate();
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw invalidDate();
  if (new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) throw invalidDate();
  return value;
}

function invalidDate(): GraphQLError {
  return new GraphQLError('Date must be a calendar day as YYYY-MM-DD', { extensions: { code: 'BAD_USER_INPUT' } });
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** The instants PostgreSQL's timestamptz takes as Keymint writes them: years 0001 to 9999, UTC. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) throw invalidDateTime();
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalidDateTime();
  if (date.getTime() < EARLIEST || date.getTime() > LATEST) {
    throw new GraphQLError('DateTime must fall between the years 0001 and 9999 (UTC)', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return date;
}

function invalidDateTime(): GraphQLError {
  return new GraphQLError('DateTime must be an ISO-8601 string with a time zone, e.g. 2026-01-31T12:00:00Z', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

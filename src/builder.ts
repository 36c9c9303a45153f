import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import RateLimitPlugin from './graphql/rate-limit.plugin.js';
import TextInputPlugin from './graphql/text-input.plugin.js';
import { getNamedType, getNullableType, GraphQLObjectType, isLeafType, isListType } from 'graphql';
import type { Context } from './context.js';
import type { Principal } from './auth/principal.js';
import { authorizationError, type AuthScopes } from './auth/scopes.js';
import type { Team } from './modules/team/team.entity.js';
import type { Revocation } from './modules/token/revocation.entity.js';
import type { Token } from './modules/token/token.entity.js';
import type { User } from './modules/user/user.entity.js';
import { BadUserInputError } from './errors/errors.js';
import { unstorableText, unstorableTextMessage } from './text.js';
import { decodeGlobalId, encodeGlobalId, UNKNOWN_TYPE } from './global-id.js';

/**
 * The schema builder: plugins, scalars and where the authorization vocabulary (src/auth/scopes.ts)
 * plugs in. It defines no object types; each module adds its own.
 */
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
    unauthorizedError: (_parent, ctx, _info, result) => authorizationError(ctx.principal, ctx.authFailure, result.failure),
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

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

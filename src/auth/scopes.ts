import { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { parseGlobalId } from '../global-id.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError, type AuthenticationFailure } from '../errors/errors.js';
import { isAdmin, mayManageTokens, mayVerifyTokens, type Principal, type TeamRole, type TokenAction } from './principal.js';
import { canChangeToken, canRotateToken, canSeeToken, type GuardedToken } from './token-access.js';

/**
 * Every authorization rule of the GraphQL API, in one place: the scope vocabulary that fields and
 * types declare (`authScopes`), how each scope is decided, and what the caller is told when one
 * fails. Scopes read the data they need through a port that the request context implements with
 * its per-request loaders, so this file knows no entity, repository or module.
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
  /** Whether the caller may see this token (by entity or by global id). Hidden looks like absent. */
  tokenVisible: GuardedToken | string;
  /** Whether the caller may change this token (by global id), beyond seeing it. */
  tokenChangeable: string;
  /** Whether the caller may receive a new secret for this token (by global id): its owner or its own lineage. */
  tokenRotatable: string;
  /** May verify other people's tokens: holds tokens.verify (an API token: in its own list). */
  verifier: boolean;
  /** A member of this live team (loaded, or by global id), or an administrator. Anyone else finds no team. */
  teamMember: TeamReference | string;
  /** An OWNER of this team (loaded, or by global id), or an administrator. */
  teamOwner: TeamReference | string;
  /** May read which team this is (by database id): a member, of a deleted team too, or an administrator. */
  teamReader: string;
  /** May remove this member (global ids) from this team: the member themselves, an owner, or an administrator. */
  memberRemovable: { teamId: string; userId: string };
}

/** A team the schema already holds. */
export interface TeamReference {
  id: string;
}

/** What the scopes need to look up, batched and cached per request by the context. */
export interface AuthorizationPort {
  /** A token by database id; null when there is none. */
  token(id: string): Promise<GuardedToken | null>;
  /** A team by database id; null when there is none. */
  team(id: string): Promise<{ deletedAt: Date | null } | null>;
  /** The caller's role in a team (deleted or not); null when they are not a member. */
  roleIn(teamId: string): Promise<TeamRole | null>;
}

/** The scope loaders behind @pothos/plugin-scope-auth, one per scope of the vocabulary. */
export type ScopeLoaders = {
  [Scope in keyof AuthScopes]: AuthScopes[Scope] extends boolean
    ? boolean
    : (parameter: AuthScopes[Scope]) => boolean | Promise<boolean>;
};

export function scopeLoaders(principal: Principal | null, port: AuthorizationPort): ScopeLoaders {
  const admin = principal !== null && isAdmin(principal);
  const roleIn = (teamId: string) => port.roleIn(teamId);
  // A client's global id of the wrong kind or shape names nothing (and so never reaches SQL).
  const tokenById = async (id: string) => {
    const dbId = parseGlobalId('Token', id);
    return dbId ? port.token(dbId) : null;
  };
  const teamDbId = (target: TeamReference | string) => (typeof target === 'string' ? parseGlobalId('Team', target) : target.id);
  return {
    authenticated: principal !== null,
    session: principal?.authMethod === 'SESSION',
    admin,
    tokenPermission: (action) => principal !== null && mayManageTokens(principal, action),
    tokenVisible: async (target) => {
      if (!principal) return false;
      const token = typeof target === 'string' ? await tokenById(target) : target;
      return token !== null && canSeeToken(principal, roleIn, token);
    },
    tokenChangeable: async (id) => {
      const token = principal && (await tokenById(id));
      return !!token && canChangeToken(principal, roleIn, token);
    },
    tokenRotatable: async (id) => {
      const token = principal && (await tokenById(id));
      return !!token && canRotateToken(principal, token);
    },
    verifier: principal !== null && mayVerifyTokens(principal),
    // Teams are their members' business: anyone else (but an administrator) finds nothing.
    teamMember: async (target) => {
      const dbId = principal && teamDbId(target);
      if (!dbId) return false;
      const team = await port.team(dbId);
      if (!team || team.deletedAt) return false;
      return admin || (await roleIn(dbId)) !== null;
    },
    teamOwner: async (target) => {
      const dbId = principal && teamDbId(target);
      if (!dbId) return false;
      return admin || (await roleIn(dbId)) === 'OWNER';
    },
    teamReader: async (teamId) => principal !== null && (admin || (await roleIn(teamId)) !== null),
    memberRemovable: async ({ teamId, userId }) => {
      if (!principal) return false;
      if (parseGlobalId('User', userId) === principal.user.id) return true;
      const dbId = parseGlobalId('Team', teamId);
      return dbId !== null && (admin || (await roleIn(dbId)) === 'OWNER');
    },
  };
}

const VERIFIER_REQUIRED = "Verifying tokens needs the 'tokens.verify' permission (an API token must name it in its own list)";

/** The `verifier` scope for the REST routes of resource servers: the same rule, the same refusal. */
export function requireVerifier(principal: Principal): void {
  if (!mayVerifyTokens(principal)) throw new ForbiddenError(VERIFIER_REQUIRED);
}

/**
 * One mapping from a failed scope to what the caller sees: no credentials is UNAUTHENTICATED,
 * a missing management permission is FORBIDDEN, and an object the caller may not see is
 * indistinguishable from one that does not exist.
 */
export function authorizationError(principal: Principal | null, authFailure: AuthenticationFailure | null, failure: AuthFailure): Error {
  if (!principal) {
    return new UnauthenticatedError(authFailure ?? { message: 'Authentication required', code: 'UNAUTHENTICATED' });
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
  if (failed.has('verifier')) return new ForbiddenError(VERIFIER_REQUIRED);
  // Then objects the caller may not see: exactly as if they did not exist.
  if (failed.has('teamMember')) return new NotFoundError('Team not found');
  if (failed.has('tokenVisible')) return new NotFoundError('Token not found');
  // Last, objects the caller sees but may not act on.
  if (anywhere.has('teamOwner') || anywhere.has('memberRemovable')) return new ForbiddenError('Only the team’s owners may do this');
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

import { tokenPermissions, userPermissions, type Principal, type TokenGrant } from '../../auth/principal.js';
import { grants } from '../../auth/permissions.js';
import { ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../../errors/errors.js';
import type { MembershipRepository } from '../team/membership.repository.js';
import type { UserRepository } from '../user/user.repository.js';
import type { Token } from './token.entity.js';
import type { TokenRepository } from './token.repository.js';

/**
 * What a new or changed token may be granted: whose it is, and the permission sets that bound it.
 * Nobody grants what they do not hold, and no token outgrows its owner or its parent.
 */

/** A permission set that every granted permission must be in, and whose it is (for the message). */
export interface Bound {
  who: string;
  held: string[];
}

/** Who the new token belongs to, what bounds it, and where it sits. */
export interface MintPlan {
  ownerId: string;
  teamId: string | null;
  /** Everything granted must be contained in each of these. */
  bounds: Bound[];
  parent: TokenGrant | null;
}

export interface GrantLookups {
  tokens: TokenRepository;
  users: UserRepository;
  memberships: MembershipRepository;
}

/**
 * Who owns the new token and what bounds it. An API token mints children: same owner and
 * team, bounded by itself. A session mints for itself (inside a team: with what its role
 * grants there), or, as a team owner, for a member: bounded by both.
 */
export async function planMint(
  lookups: GrantLookups,
  principal: Principal,
  input: { teamId?: string | null; ownerId?: string | null },
): Promise<MintPlan> {
  if (principal.authMethod === 'API_TOKEN' && principal.token) {
    const parent = principal.token;
    if (input.ownerId) throw new ForbiddenError('An API token mints only for its own owner');
    if (input.teamId && input.teamId !== parent.teamId) {
      throw ValidationError.forField(['teamId'], "a token minted by an API token belongs to its parent's team");
    }
    return { ownerId: parent.owner.id, teamId: parent.teamId, bounds: [{ who: 'this API token', held: tokenPermissions(parent) }], parent };
  }
  if (!input.teamId) {
    if (input.ownerId && input.ownerId !== principal.user.id) {
      throw ValidationError.forField(['ownerId'], 'ownerId is for team tokens: give teamId too');
    }
    return { ownerId: principal.user.id, teamId: null, bounds: [{ who: 'you', held: userPermissions(principal.user) }], parent: null };
  }
  const role = await lookups.memberships.roleIn(principal.user.id, input.teamId);
  if (!role) throw new NotFoundError('Team not found');
  const callerBound = { who: 'you', held: userPermissions(principal.user, role) };
  if (!input.ownerId || input.ownerId === principal.user.id) {
    return { ownerId: principal.user.id, teamId: input.teamId, bounds: [callerBound], parent: null };
  }
  if (role !== 'OWNER') throw new ForbiddenError('Only team owners mint tokens on behalf of a member');
  const [member, memberRole] = await Promise.all([
    lookups.users.byId(input.ownerId),
    lookups.memberships.roleIn(input.ownerId, input.teamId),
  ]);
  if (!member || !memberRole) throw new NotFoundError('No such member in this team');
  return {
    ownerId: member.id,
    teamId: input.teamId,
    bounds: [callerBound, { who: 'the member', held: userPermissions(member, memberRole) }],
    parent: null,
  };
}

/** What bounds new permissions on an existing token: its owner (in its team), its lineage, and the caller. */
export async function updateBounds(lookups: GrantLookups, principal: Principal, token: Token): Promise<Bound[]> {
  const owner = await lookups.users.byId(token.owner.id);
  if (!owner) throw new NotFoundError('Token not found');
  const ownerRole = token.team ? await lookups.memberships.roleIn(owner.id, token.team.id) : null;
  const bounds = [{ who: "the token's owner", held: userPermissions(owner, ownerRole) }];
  if (token.parent) {
    const { lists } = await lookups.tokens.lineageOf(token);
    bounds.push({ who: "the token's parent", held: tokenPermissions({ permissions: [], owner, ownerTeamRole: ownerRole, lineage: lists }) });
  }
  if (principal.authMethod === 'API_TOKEN' && principal.token) {
    bounds.push({ who: 'this API token', held: tokenPermissions(principal.token) });
  } else if (principal.user.id !== owner.id) {
    const callerRole = token.team ? await lookups.memberships.roleIn(principal.user.id, token.team.id) : null;
    bounds.push({ who: 'you', held: userPermissions(principal.user, callerRole) });
  }
  return bounds;
}

/** Nobody grants what they do not hold: every permission must be in every bound. */
export function assertContained(permissions: string[], bounds: Bound[]): void {
  const problems: FieldProblem[] = [];
  permissions.forEach((permission, index) => {
    const short = bounds.find((bound) => !grants(bound.held, permission));
    if (short) {
      problems.push({
        path: ['permissions', String(index)],
        message: `cannot grant '${permission}': ${short.who === 'you' ? 'you do' : `${short.who} does`} not hold it`,
      });
    }
  });
  if (problems.length > 0) throw ValidationError.of(problems);
}

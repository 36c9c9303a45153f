import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config.js';
import type { Clock } from '../../clock.js';
import { tokenPermissions, userPermissions, type Principal, type TeamRole } from '../../auth/principal.js';
import { grants } from '../../auth/permissions.js';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../common/errors.js';
import { TeamMember } from '../team/team-member.entity.js';
import { User } from '../user/user.entity.js';
import type { TokenSnapshot } from './token-snapshot.js';
import { Token } from './token.entity.js';
import { LIMITS, validateTokenFields, type TokenFields, type TokenFieldsInput } from './token-fields.js';
import { narrowingProblems } from './token.narrowing.js';
import {
  TokenRepository,
  type ClampedToken,
  type RevocationTarget,
  type RevokedToken,
  type TokenListFilter,
} from './token.repository.js';
import { generateSecret } from './token.secret.js';
import type { TokenEventSink } from './token-events.js';
import type { KeysetCursor } from '../common/keyset-page.js';
import type { Actor } from '../audit/actor.js';
import { writeAudit } from '../audit/audit-log.js';

export interface MintInput extends TokenFieldsInput {
  name: string;
  /** Database id of the team, already decoded; null for a personal token. */
  teamId?: string | null;
  /** Database id of the member a team owner mints for; null for the caller. */
  ownerId?: string | null;
}

export const DEFAULT_REVOKE_REASON = 'Revoked by user';
export const CASCADE_REASON = 'Parent token revoked';
export const MAX_GRACE_SECONDS = 30 * 86_400;
const NAME_INDEX = 'tokens_owner_scope_name_unique';

/** Who the new token belongs to, what bounds it, and where it sits. */
interface MintPlan {
  ownerId: string;
  teamId: string | null;
  /** Everything granted must be contained in each of these. */
  bounds: { who: string; held: string[] }[];
  parent: TokenSnapshot | null;
}

/**
 * The rules of minting, changing and revoking tokens. Resolvers call this; it calls the
 * database. Whoever calls must already have been allowed to reach the token (scopes); this adds
 * the rules of what may be granted: containment, lineage, and API tokens that may only narrow.
 */
export interface TokenServiceDependencies {
  em: EntityManager;
  clock: Clock;
  settings: Config['tokens'];
  /** Who acts: recorded in the audit trail and as revokedBy. */
  actor: Actor;
  /** Told, after commit, about every token that must stop verifying as it was. */
  events?: TokenEventSink;
}

export class TokenService {
  private readonly em: EntityManager;
  private readonly clock: Clock;
  private readonly settings: Config['tokens'];
  private readonly actor: Actor;
  private readonly events: TokenEventSink;
  private readonly repository: TokenRepository;

  constructor(deps: TokenServiceDependencies) {
    this.em = deps.em;
    this.clock = deps.clock;
    this.settings = deps.settings;
    this.actor = deps.actor;
    this.events = deps.events ?? (() => {});
    this.repository = new TokenRepository(deps.em);
  }

  /** Creates a token and returns its secret: the only time the secret exists outside the caller. */
  async mint(principal: Principal, input: MintInput): Promise<{ token: Token; secret: string }> {
    const now = this.clock();
    const fields = validateTokenFields(input, this.expiryPolicy(now), 'mint');
    const plan = await this.planMint(principal, input);
    const permissions = fields.permissions ?? [];
    this.assertContained(permissions, plan.bounds);

    const { secret, hash, displayPrefix } = generateSecret(this.settings.prefix);
    // Its own transaction (a fork): a failed insert does not linger in the request's unit of work.
    const fork = this.em.fork();
    const token = fork.create(Token, {
      ...fields,
      name: fields.name!,
      owner: plan.ownerId,
      team: plan.teamId,
      parent: plan.parent?.id ?? null,
      ancestorIds: plan.parent ? [...plan.parent.ancestorIds, plan.parent.id] : [],
      prefix: displayPrefix,
      secretHash: hash,
      permissions,
      createdAt: now,
      updatedAt: now,
    });
    try {
      await fork.transactional(async (tx) => {
        if (plan.parent) await this.assertParentStillAllows(new TokenRepository(tx), plan.parent.id, token.expiresAt);
        tx.persist(token);
        await tx.flush();
        await writeAudit(tx, this.actor, now, [
          { ...this.target(token), action: 'TOKEN_MINTED', changes: mintedFields(token) },
        ]);
      });
    } catch (error) {
      throw this.nameConflictOr(error, token.name, plan.teamId !== null);
    }
    return { token, secret };
  }

  /** Changes what an active token may do. Only the fields present in the input change. */
  async update(principal: Principal, token: Token, input: TokenFieldsInput): Promise<Token> {
    const now = this.clock();
    this.assertChangeable(token, now);
    const fields = validateTokenFields(input, this.expiryPolicy(now), 'update');
    if (Object.keys(fields).length === 0) return token;

    if (fields.permissions) {
      this.assertContained(fields.permissions, await this.updateBounds(principal, token));
    }
    if (principal.authMethod === 'API_TOKEN') {
      const problems = narrowingProblems(token, fields);
      if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
    }

    let changed: number;
    const clamped: ClampedToken[] = [];
    try {
      changed = await this.em.transactional(async (tx) => {
        if (fields.expiresAt !== undefined && token.parent) {
          await this.assertParentStillAllows(new TokenRepository(tx), token.parent.id, fields.expiresAt);
        }
        // Conditional on the token still being active, so a concurrent revocation wins.
        const count = await tx.nativeUpdate(
          Token,
          { id: token.id, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] },
          { ...fields, updatedAt: now },
        );
        if (count > 0) {
          await writeAudit(tx, this.actor, now, [{ ...this.target(token), action: 'TOKEN_UPDATED', changes: diff(token, fields) }]);
          // A sooner expiry reaches the tokens this one minted, in the same transaction.
          if (fields.expiresAt) clamped.push(...(await this.clampDescendants(tx, token, fields.expiresAt, now)));
        }
        return count;
      });
    } catch (error) {
      throw this.nameConflictOr(error, fields.name ?? token.name, token.team !== null);
    }
    if (changed > 0) {
      for (const affected of [{ id: token.id, prefix: token.prefix }, ...clamped]) {
        this.events({ type: 'UPDATED', tokenId: affected.id, prefix: affected.prefix, at: now });
      }
    }
    await this.em.refresh(token);
    if (changed === 0) this.assertChangeable(token, now);
    return token;
  }

  /**
   * Revokes a token and, in the same transaction, every token it minted (and they minted).
   * Idempotent: a second revocation (even a concurrent one) keeps the first one's time, author
   * and reason, and returns it.
   */
  async revoke(token: Token, reason?: string | null, defaultReason = DEFAULT_REVOKE_REASON): Promise<Token> {
    const text = this.reasonOr(reason, defaultReason);
    if (!token.revokedAt) {
      await this.revokeWithDescendants(token.id, text);
      await this.em.refresh(token);
    }
    return token;
  }

  /** Revokes one token and, in the same transaction, every token it minted (and they minted). */
  revokeWithDescendants(tokenId: string, reason: string): Promise<number> {
    return this.revokeAll({ kind: 'token', id: tokenId }, reason);
  }

  /**
   * Gives the token a new secret; everything else stays (id, name, permissions, restrictions,
   * team, expiry). The old secret keeps verifying for the grace period, capped at the token's
   * expiry; with 0 it dies at once. A rotation during a running grace period ends that period
   * first, so at most two secrets live. With `expectedPrefix`, it is compare-and-swap.
   */
  async rotate(token: Token, options: { gracePeriodSeconds: number; expectedPrefix?: string | null }): Promise<{ token: Token; secret: string }> {
    const now = this.clock();
    const grace = options.gracePeriodSeconds;
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
      throw ValidationError.forField(['gracePeriodSeconds'], `gracePeriodSeconds must be between 0 and ${MAX_GRACE_SECONDS} (30 days)`);
    }
    this.assertChangeable(token, now);
    const conflict = () => new ConflictError('The token was rotated in the meantime: its current prefix is not the one expected');
    if (options.expectedPrefix != null && options.expectedPrefix !== token.prefix) throw conflict();

    const previous = { hash: token.secretHash, prefix: token.prefix };
    const graceEnd = Math.min(now.getTime() + grace * 1000, token.expiresAt?.getTime() ?? Infinity);
    const validUntil = new Date(Math.max(graceEnd, now.getTime()));
    const { secret, hash, displayPrefix } = generateSecret(this.settings.prefix);
    const rotated = await this.em.transactional(async (tx) => {
      const connection = tx.getConnection();
      const ctx = tx.getTransactionContext();
      // Compare-and-swap on the secret itself: of two concurrent rotations, one wins.
      const swapped = await connection.execute(
        `update tokens set secret_hash = ?, prefix = ?, rotated_at = ?, previous_secret_expires_at = ?, updated_at = ?
         where id = ? and secret_hash = ? and revoked_at is null`,
        [hash, displayPrefix, now, grace > 0 ? validUntil : null, now, token.id, previous.hash],
        'run',
        ctx,
      );
      if ((swapped as { affectedRows?: number }).affectedRows !== 1) return false;
      await connection.execute(`update retired_secrets set valid_until = ? where token_id = ? and valid_until > ?`, [now, token.id, now], 'run', ctx);
      await connection.execute(
        `insert into retired_secrets (secret_hash, token_id, prefix, retired_at, valid_until) values (?, ?, ?, ?, ?)`,
        [previous.hash, token.id, previous.prefix, now, validUntil],
        'run',
        ctx,
      );
      await writeAudit(tx, this.actor, now, [
        {
          ...this.target(token),
          action: 'TOKEN_ROTATED',
          changes: { previousPrefix: previous.prefix, prefix: displayPrefix, gracePeriodSeconds: grace, previousSecretExpiresAt: validUntil },
        },
      ]);
      return true;
    });
    if (!rotated) {
      await this.em.refresh(token);
      this.assertChangeable(token, now);
      throw conflict();
    }
    this.events({ type: 'ROTATED', tokenId: token.id, prefix: previous.prefix, at: now });
    await this.em.refresh(token);
    return { token, secret };
  }

  /** Revokes every live token a target covers (offboarding, panic button, leak reports). */
  async revokeAll(target: RevocationTarget, reason: string): Promise<number> {
    const revoked = await this.em.transactional((tx) => this.revokeAllIn(tx, target, reason));
    this.announceRevoked(revoked);
    return revoked.length;
  }

  /**
   * The same, inside a transaction the caller already holds (team changes): each revoked token
   * gets its Revocation row and its audit event there. Call announceRevoked after the commit.
   *
   * Then every live descendant of what was revoked goes too ("Parent token revoked"), in statements
   * of their own: a child whose mint held its parent's row while the first statement waited on it
   * commits before that statement goes on, but is not in its snapshot; the next statement sees it.
   */
  async revokeAllIn(tx: EntityManager, target: RevocationTarget, reason: string): Promise<RevokedToken[]> {
    const at = this.clock();
    const repository = new TokenRepository(tx);
    const by = this.actor.label;
    const revoked = await repository.revokeWhere(target, { at, by, reason });
    const all = [...revoked];
    for (let frontier = revoked; frontier.length > 0; ) {
      frontier = await repository.revokeWhere({ kind: 'descendantsOfAny', ids: frontier.map((t) => t.id) }, { at, by, reason: CASCADE_REASON });
      all.push(...frontier);
    }
    await writeAudit(
      tx,
      this.actor,
      at,
      all.map((t) => ({ ...auditTarget(t), action: 'TOKEN_REVOKED' as const, changes: { reason: t.reason } })),
    );
    return all;
  }

  /** Tells caches (here and on other instances) and subscribers, once the revocation committed. */
  announceRevoked(revoked: RevokedToken[]): void {
    const at = this.clock();
    for (const token of revoked) this.events({ type: 'REVOKED', tokenId: token.id, prefix: token.prefix, at });
  }

  /** The prefix this instance's secrets start with (`km` in `km_...`). */
  get secretPrefix(): string {
    return this.settings.prefix;
  }

  list(filter: TokenListFilter, first: number, after: KeysetCursor | null) {
    return this.repository.page(filter, first, after);
  }

  count(filter: TokenListFilter): Promise<number> {
    return this.repository.count(filter);
  }

  /** Active tokens that expire within `days`, soonest first (at most 100). */
  expiringSoon(scope: Omit<TokenListFilter, 'includeInactive' | 'now'>, days: number): Promise<Token[]> {
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      throw new BadUserInputError('days must be between 1 and 366', 'days');
    }
    const now = this.clock();
    return this.repository.expiringSoon({ ...scope, now }, new Date(now.getTime() + days * 86_400_000), 100);
  }

  reasonOr(reason: string | null | undefined, fallback: string): string {
    const text = reason?.trim() || fallback;
    if (text.length > LIMITS.reasonLength) {
      throw ValidationError.forField(['reason'], `reason must be at most ${LIMITS.reasonLength} characters`);
    }
    return text;
  }

  /** Whose token it is, for the audit trail. */
  private target(token: Token) {
    return auditTarget({ id: token.id, ownerId: token.owner.id, teamId: token.team?.id ?? null });
  }

  private expiryPolicy(now: Date) {
    return { now, maxLifetimeDays: this.settings.maxLifetimeDays, requireExpiry: this.settings.requireExpiry };
  }

  /**
   * Who owns the new token and what bounds it. An API token mints children: same owner and
   * team, bounded by itself. A session mints for itself (inside a team: with what its role
   * grants there), or, as a team owner, for a member: bounded by both.
   */
  private async planMint(principal: Principal, input: MintInput): Promise<MintPlan> {
    if (principal.authMethod === 'API_TOKEN' && principal.token) {
      const parent = principal.token;
      if (input.ownerId) throw new ForbiddenError('An API token mints only for its own owner');
      if (input.teamId && input.teamId !== parent.teamId) {
        throw ValidationError.forField(['teamId'], "a token minted by an API token belongs to its parent's team");
      }
      return {
        ownerId: parent.owner.id,
        teamId: parent.teamId,
        bounds: [{ who: 'this API token', held: tokenPermissions(parent) }],
        parent,
      };
    }
    if (!input.teamId) {
      if (input.ownerId && input.ownerId !== principal.user.id) {
        throw ValidationError.forField(['ownerId'], 'ownerId is for team tokens: give teamId too');
      }
      return { ownerId: principal.user.id, teamId: null, bounds: [{ who: 'you', held: userPermissions(principal.user) }], parent: null };
    }
    const role = await this.roleOf(principal.user.id, input.teamId);
    if (!role) throw new NotFoundError('Team not found');
    const callerBound = { who: 'you', held: userPermissions(principal.user, role) };
    if (!input.ownerId || input.ownerId === principal.user.id) {
      return { ownerId: principal.user.id, teamId: input.teamId, bounds: [callerBound], parent: null };
    }
    if (role !== 'OWNER') throw new ForbiddenError('Only team owners mint tokens on behalf of a member');
    const [member, memberRole] = await Promise.all([
      this.em.findOne(User, { id: input.ownerId }),
      this.roleOf(input.ownerId, input.teamId),
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
  private async updateBounds(principal: Principal, token: Token): Promise<MintPlan['bounds']> {
    const owner = await this.em.findOneOrFail(User, { id: token.owner.id });
    const ownerRole = token.team ? await this.roleOf(owner.id, token.team.id) : null;
    const bounds = [{ who: "the token's owner", held: userPermissions(owner, ownerRole) }];
    if (token.parent) {
      const ancestors = await this.em.find(Token, { id: { $in: token.ancestorIds } });
      const lineage = token.ancestorIds.map((id) => ancestors.find((a) => a.id === id)?.permissions ?? ['none.none']);
      const parentHeld = tokenPermissions({ permissions: [], owner, ownerTeamRole: ownerRole, lineage });
      bounds.push({ who: "the token's parent", held: parentHeld });
    }
    if (principal.authMethod === 'API_TOKEN' && principal.token) {
      bounds.push({ who: 'this API token', held: tokenPermissions(principal.token) });
    } else if (principal.user.id !== owner.id) {
      const callerRole = token.team ? await this.roleOf(principal.user.id, token.team.id) : null;
      bounds.push({ who: 'you', held: userPermissions(principal.user, callerRole) });
    }
    return bounds;
  }

  /** Nobody grants what they do not hold: every permission must be in every bound. */
  private assertContained(permissions: string[], bounds: MintPlan['bounds']): void {
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
    if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
  }

  /** Descendants expiring later than their ancestor's new expiry are brought down to it, each audited. */
  private async clampDescendants(tx: EntityManager, token: Token, expiresAt: Date, now: Date): Promise<ClampedToken[]> {
    const clamped = await new TokenRepository(tx).clampDescendantsExpiry(token.id, expiresAt, now);
    await writeAudit(
      tx,
      this.actor,
      now,
      clamped.map((child) => ({
        ...auditTarget(child),
        action: 'TOKEN_UPDATED' as const,
        changes: { expiresAt: { from: child.previousExpiresAt, to: expiresAt }, reason: 'an ancestor expires sooner' },
      })),
    );
    return clamped;
  }

  /**
   * A child never outlives its parent: checked under a lock on the parent's row, inside the mint
   * or change itself, so a concurrent revocation or shortening of the parent cannot slip between.
   */
  private async assertParentStillAllows(repository: TokenRepository, parentId: string, expiresAt: Date | null): Promise<void> {
    const parent = await repository.lockAsParent(parentId);
    if (!parent || parent.revokedAt) throw new ConflictError('The API token minting this one was revoked meanwhile');
    if (parent.expiresAt && (expiresAt === null || expiresAt > parent.expiresAt)) {
      throw ValidationError.forField(
        ['expiresAt'],
        `a child token cannot outlive its parent: the expiry must be no later than ${parent.expiresAt.toISOString()}`,
      );
    }
  }

  private async roleOf(userId: string, teamId: string): Promise<TeamRole | null> {
    const membership = await this.em.findOne(TeamMember, { team: teamId, user: userId }, { populate: ['team'] });
    if (!membership || membership.team.getEntity().deletedAt) return null;
    return membership.role;
  }

  private assertChangeable(token: Token, now: Date): void {
    const status = token.status(now);
    if (status !== 'ACTIVE') {
      throw new ValidationError(`This token is ${status.toLowerCase()} and can no longer be changed`, [
        { path: ['id'], message: `token is ${status.toLowerCase()}` },
      ]);
    }
  }

  private nameConflictOr(error: unknown, name: string | undefined, inTeam: boolean): unknown {
    if (error instanceof UniqueConstraintViolationException && error.message.includes(NAME_INDEX)) {
      return new ConflictError(
        `An active token named "${name}" already exists ${inTeam ? 'for this owner in this team' : 'among your personal tokens'}`,
      );
    }
    return error;
  }
}

/** A token as the target of an audit event, with whose it is (who may read the event). */
function auditTarget(token: { id: string; ownerId: string; teamId: string | null }) {
  return { targetType: 'TOKEN' as const, targetId: token.id, tokenId: token.id, ownerId: token.ownerId, teamId: token.teamId };
}

/** What a new token was given, for its TOKEN_MINTED event (never the secret or its digest). */
function mintedFields(token: Token): Record<string, unknown> {
  return {
    name: token.name,
    description: token.description,
    permissions: token.permissions,
    serverId: token.serverId,
    ipRestrictions: token.ipRestrictions,
    timeRestrictions: token.timeRestrictions,
    usageLimits: token.usageLimits,
    tags: token.tags,
    expiresAt: token.expiresAt,
    parentId: token.parent?.id ?? null,
  };
}

/** Each changed field, from and to. */
function diff(token: Token, fields: TokenFields): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(fields)) {
    const from = token[key as keyof TokenFields];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  return changes;
}

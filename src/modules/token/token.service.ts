import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config.js';
import type { Clock } from '../../clock.js';
import type { Principal } from '../../auth/principal.js';
import { afterCommit as afterCommitHook, inTransaction } from '../../db/transaction.js';
import { BadUserInputError, ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import { MembershipRepository } from '../team/membership.repository.js';
import { UserRepository } from '../user/user.repository.js';
import { Token } from './token.entity.js';
import { validateTokenFields, type TokenFieldsInput } from './token-fields.js';
import { narrowingProblems } from './token.narrowing.js';
import { TokenRepository, type ClampedToken } from './token.repository.js';
import type { TokenListFilter } from './token-list-filter.js';
import { assertContained, planMint, updateBounds, type GrantLookups } from './token-grants.js';
import { auditTarget, auditTargetOf, diff, mintedFields } from './token-audit.js';
import { assertChangeable, assertParentStillAllows, nameConflictOr, revocationReason } from './token-guards.js';
import { DEFAULT_REVOKE_REASON, type TokenRevocation } from './token-revocation.js';
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

export const MAX_GRACE_SECONDS = 30 * 86_400;

/**
 * The rules of minting, changing and revoking tokens. Resolvers call this; it calls the
 * repositories. Whoever calls must already have been allowed to reach the token (scopes); this adds
 * the rules of what may be granted: containment, lineage, and API tokens that may only narrow.
 */
export interface TokenServiceDependencies {
  em: EntityManager;
  clock: Clock;
  settings: Config['tokens'];
  /** Who acts: recorded in the audit trail and as revokedBy. */
  actor: Actor;
  /** Told, after commit, about every token that must stop verifying as it was. */
  events: TokenEventSink;
  /** Revocations of one token or many, for the same actor. */
  revocation: TokenRevocation;
}

export class TokenService {
  private readonly em: EntityManager;
  private readonly clock: Clock;
  private readonly settings: Config['tokens'];
  private readonly actor: Actor;
  private readonly events: TokenEventSink;
  private readonly repository: TokenRepository;
  private readonly lookups: GrantLookups;
  /** Revocation: this service revokes one token at a time through it. */
  private readonly revocation: TokenRevocation;

  constructor(deps: TokenServiceDependencies) {
    this.em = deps.em;
    this.clock = deps.clock;
    this.settings = deps.settings;
    this.actor = deps.actor;
    this.events = deps.events;
    this.repository = new TokenRepository(deps.em);
    this.lookups = { tokens: this.repository, users: new UserRepository(deps.em), memberships: new MembershipRepository(deps.em) };
    this.revocation = deps.revocation;
  }

  /** Creates a token and returns its secret: the only time the secret exists outside the caller. */
  async mint(principal: Principal, input: MintInput): Promise<{ token: Token; secret: string }> {
    const now = this.clock();
    const fields = validateTokenFields(input, this.expiryPolicy(now), 'mint');
    const plan = await planMint(this.lookups, principal, input);
    const permissions = fields.permissions ?? [];
    assertContained(permissions, plan.bounds);

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
      await inTransaction(fork, async (tx) => {
        if (plan.parent) await assertParentStillAllows(new TokenRepository(tx), plan.parent.id, token.expiresAt);
        tx.persist(token);
        await tx.flush();
        await writeAudit(tx, this.actor, now, [{ ...auditTargetOf(token), action: 'TOKEN_MINTED', changes: mintedFields(token) }]);
      });
    } catch (error) {
      throw nameConflictOr(error, token.name, plan.teamId !== null);
    }
    return { token, secret };
  }

  /** Changes what an active token may do. Only the fields present in the input change. */
  async update(principal: Principal, token: Token, input: TokenFieldsInput): Promise<Token> {
    const now = this.clock();
    assertChangeable(token, now);
    const fields = validateTokenFields(input, this.expiryPolicy(now), 'update');
    if (Object.keys(fields).length === 0) return token;

    if (fields.permissions) assertContained(fields.permissions, await updateBounds(this.lookups, principal, token));
    if (principal.authMethod === 'API_TOKEN') {
      const problems = narrowingProblems(token, fields);
      if (problems.length > 0) throw ValidationError.of(problems);
    }

    let changed: boolean;
    try {
      changed = await inTransaction(this.em, async (tx) => {
        const repository = new TokenRepository(tx);
        if (fields.expiresAt !== undefined && token.parent) {
          await assertParentStillAllows(repository, token.parent.id, fields.expiresAt);
        }
        // Conditional on the token still being active, so a concurrent revocation wins.
        if (!(await repository.updateIfActive(token.id, now, fields))) return false;
        await writeAudit(tx, this.actor, now, [{ ...auditTargetOf(token), action: 'TOKEN_UPDATED', changes: diff(token, fields) }]);
        // A sooner expiry reaches the tokens this one minted, in the same transaction.
        const clamped = fields.expiresAt ? await this.clampDescendants(tx, token, fields.expiresAt, now) : [];
        for (const affected of [{ id: token.id, prefix: token.prefix }, ...clamped]) {
          this.afterCommit(tx, { type: 'UPDATED', tokenId: affected.id, prefix: affected.prefix, at: now });
        }
        return true;
      });
    } catch (error) {
      throw nameConflictOr(error, fields.name ?? token.name, token.team !== null);
    }
    await this.em.refresh(token);
    if (!changed) assertChangeable(token, now);
    return token;
  }

  /**
   * Revokes a token and, in the same transaction, every token it minted (and they minted).
   * Idempotent: a second revocation (even a concurrent one) keeps the first one's time, author
   * and reason, and returns it.
   */
  async revoke(token: Token, reason?: string | null, defaultReason = DEFAULT_REVOKE_REASON): Promise<Token> {
    const text = revocationReason(reason, defaultReason);
    if (!token.revokedAt) {
      await this.revocation.revokeAll({ kind: 'token', id: token.id }, text);
      await this.em.refresh(token);
    }
    return token;
  }

  /** The same, for any token by database id (administrators: the scopes have let them through). */
  async revokeById(id: string, reason: string | null | undefined, defaultReason: string): Promise<Token> {
    const token = await this.repository.findById(id);
    if (!token) throw new NotFoundError('Token not found');
    return this.revoke(token, reason, defaultReason);
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
    assertChangeable(token, now);
    const conflict = () => new ConflictError('The token was rotated in the meantime: its current prefix is not the one expected');
    if (options.expectedPrefix != null && options.expectedPrefix !== token.prefix) throw conflict();

    const previous = { hash: token.secretHash, prefix: token.prefix };
    const graceEnd = Math.min(now.getTime() + grace * 1000, token.expiresAt?.getTime() ?? Infinity);
    const validUntil = new Date(Math.max(graceEnd, now.getTime()));
    const { secret, hash, displayPrefix } = generateSecret(this.settings.prefix);
    const rotated = await inTransaction(this.em, async (tx) => {
      const swapped = await new TokenRepository(tx).rotateSecret({
        id: token.id,
        previous,
        next: { hash, prefix: displayPrefix },
        now,
        validUntil,
        graceful: grace > 0,
      });
      if (!swapped) return false;
      await writeAudit(tx, this.actor, now, [
        {
          ...auditTargetOf(token),
          action: 'TOKEN_ROTATED',
          changes: { previousPrefix: previous.prefix, prefix: displayPrefix, gracePeriodSeconds: grace, previousSecretExpiresAt: validUntil },
        },
      ]);
      this.afterCommit(tx, { type: 'ROTATED', tokenId: token.id, prefix: previous.prefix, at: now });
      return true;
    });
    await this.em.refresh(token);
    if (!rotated) {
      assertChangeable(token, now);
      throw conflict();
    }
    return { token, secret };
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

  private afterCommit(tx: EntityManager, event: Parameters<TokenEventSink>[0]): void {
    afterCommitHook(tx, () => this.events(event));
  }

  private expiryPolicy(now: Date) {
    return { now, maxLifetimeDays: this.settings.maxLifetimeDays, requireExpiry: this.settings.requireExpiry };
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
}

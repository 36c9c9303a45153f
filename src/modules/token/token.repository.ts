import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { activeAt, tokenListWhere, type TokenListFilter } from './token-list-filter.js';
import type { KeysetCursor } from '../common/keyset-page.js';
import { MembershipRepository } from '../team/membership.repository.js';
import { Revocation } from './revocation.entity.js';
import { Token } from './token.entity.js';
import { RetiredSecretSchema } from './retired-secret.entity.js';
import { snapshotOfToken, type TokenSnapshot } from './token-snapshot.js';
import * as sql from './token.sql.js';
import type { RevocationTarget } from './token.sql.js';

/**
 * The one owner of the `tokens` table: named queries over tokens (their SQL text in token.sql.ts).
 * Rules live in the service; SQL shapes live here.
 */

interface Lineage {
  lists: string[][];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A new secret for a token; the previous one stays valid until `validUntil` (a grace period when `graceful`). */
export type SecretRotation = { id: string; now: Date; validUntil: Date; graceful: boolean } & Record<'previous' | 'next', { hash: string; prefix: string }>;

export interface ClampedToken {
  id: string;
  prefix: string;
  ownerId: string;
  teamId: string | null;
  previousExpiresAt: Date | null;
}

export interface RevokedToken {
  id: string;
  secretHash: string;
  prefix: string;
  ownerId: string;
  teamId: string | null;
  reason: string;
}

export class TokenRepository {
  constructor(private readonly em: EntityManager) {}

  findByIds(ids: readonly string[]): Promise<Token[]> {
    return this.em.find(Token, { id: { $in: [...ids] } });
  }

  findById(id: string): Promise<Token | null> {
    return this.em.findOne(Token, { id });
  }

  /** The ids of a token and its descendants. */
  async lineageIds(tokenId: string): Promise<string[]> {
    const rows = await this.em.getConnection().execute<{ id: string }[]>(sql.LINEAGE_IDS, sql.lineageParams(tokenId));
    return rows.map((row) => row.id);
  }

  childrenOf(parentIds: readonly string[]): Promise<Token[]> {
    return this.em.find(Token, { parent: { $in: [...parentIds] } }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  revocationsFor(tokenIds: readonly string[]): Promise<Revocation[]> {
    return this.em.find(Revocation, { token: { $in: [...tokenIds] } });
  }

  /**
   * Everything verification needs to know about the token a secret belongs to: the token with
   * its owner (one statement), and when it has them, its ancestors' lists and the owner's role in
   * its team. Null when no token has this secret.
   */
  async snapshotBySecretHash(secretHash: string): Promise<TokenSnapshot | null> {
    const token = await this.em.findOne(Token, { secretHash }, { populate: ['owner'], strategy: 'joined' });
    if (token) return this.snapshotOf(token);
    // A secret a rotation replaced still belongs to its token, until its grace period ends.
    const retired = await this.em.findOne(RetiredSecretSchema, { secretHash });
    if (!retired) return null;
    const owner = await this.em.findOneOrFail(Token, { id: retired.token }, { populate: ['owner'], strategy: 'joined' });
    return { ...(await this.snapshotOf(owner)), prefix: retired.prefix, secretValidUntil: retired.validUntil.getTime() };
  }

  private async snapshotOf(token: Token): Promise<TokenSnapshot> {
    const [lineage, ownerTeamRole] = await Promise.all([
      this.lineageOf(token),
      token.team ? new MembershipRepository(this.em).roleIn(token.owner.id, token.team.id) : null,
    ]);
    return snapshotOfToken(token, token.owner.getEntity(), {
      lineage: lineage.lists,
      ownerTeamRole,
      ancestorsExpireAt: lineage.expiresAt,
      ancestorRevokedAt: lineage.revokedAt,
    });
  }

  /**
   * The live (not revoked) tokens that any of these secret digests belongs to: as its current
   * secret, or as a retired one still in its grace period. One statement, however many digests.
   */
  async liveTokenIdsBySecretHashes(secretHashes: readonly string[], now: Date): Promise<string[]> {
    const rows = await this.em.getConnection().execute<{ id: string }[]>(
      sql.LIVE_IDS_BY_SECRET_HASHES,
      [[...secretHashes], now, [...secretHashes]],
      'all',
    );
    return rows.map((row) => row.id);
  }

  /** One page, newest first, and whether more follow. */
  async page(filter: TokenListFilter, first: number, after: KeysetCursor | null) {
    const where = tokenListWhere(filter);
    if (after) {
      where.$and.push({
        $or: [{ createdAt: { $lt: after.at } }, { createdAt: after.at, id: { $lt: after.id } }],
      });
    }
    const rows = await this.em.find(Token, where, {
      orderBy: { createdAt: 'desc', id: 'desc' },
      limit: first + 1,
    });
    return { tokens: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /** Active tokens whose expiry falls before `until`, soonest first. */
  expiringSoon(filter: Omit<TokenListFilter, 'includeInactive'>, until: Date, limit: number): Promise<Token[]> {
    const where = tokenListWhere({ ...filter, includeInactive: false });
    where.$and.push({ expiresAt: { $ne: null, $lte: until } });
    return this.em.find(Token, where, { orderBy: { expiresAt: 'asc', id: 'asc' }, limit });
  }

  count(filter: TokenListFilter): Promise<number> {
    return this.em.count(Token, tokenListWhere(filter));
  }

  /**
   * Revokes every live token the target covers, each with its own Revocation row, inside the
   * caller's transaction. Returns what it revoked, so that caches can drop those secrets.
   */
  async revokeWhere(
    target: RevocationTarget,
    revocation: { at: Date; by: string; reason: string },
  ): Promise<RevokedToken[]> {
    const connection = this.em.getConnection();
    const ctx = this.em.getTransactionContext();
    const [condition, params] = sql.revocationCondition(target);
    const revoked = await connection.execute<{ id: string; secret_hash: string; prefix: string; owner_id: string; team_id: string | null }[]>(
      sql.REVOKE(condition),
      [revocation.at, revocation.at, ...params],
      'all',
      ctx,
    );
    if (revoked.length > 0) {
      await connection.execute(
        sql.INSERT_REVOCATIONS(revoked.length),
        revoked.flatMap((row) => [randomUUID(), row.id, revocation.at, revocation.by, revocation.reason]),
        'run',
        ctx,
      );
    }
    return revoked.map((row) => ({
      id: row.id,
      secretHash: row.secret_hash,
      prefix: row.prefix,
      ownerId: row.owner_id,
      teamId: row.team_id,
      reason: revocation.reason,
    }));
  }

  /**
   * A token's lineage never outlives any of its members: brings every live descendant whose
   * expiry is later (or unset) down to `expiresAt`, inside the caller's transaction. Returns the
   * tokens it changed, with their previous expiry.
   */
  async clampDescendantsExpiry(ancestorId: string, expiresAt: Date, at: Date): Promise<ClampedToken[]> {
    const rows = await this.em.getConnection().execute<
      { id: string; prefix: string; owner_id: string; team_id: string | null; previous: Date | string | null }[]
    >(
      sql.CLAMP_DESCENDANTS_EXPIRY,
      [expiresAt, at, ancestorId, expiresAt],
      'all',
      this.em.getTransactionContext(),
    );
    return rows.map((row) => ({
      id: row.id,
      prefix: row.prefix,
      ownerId: row.owner_id,
      teamId: row.team_id,
      previousExpiresAt: row.previous === null ? null : new Date(row.previous),
    }));
  }

  /**
   * The state of a child's parent, read under a share lock held until the child's mint or change
   * commits: a concurrent revocation or shortened expiry of the parent waits for it (and then
   * reaches the child: see TokenService.revokeAllIn), or it sees them.
   */
  async lockAsParent(parentId: string): Promise<{ expiresAt: Date | null; revokedAt: Date | null } | null> {
    const [row] = await this.em.getConnection().execute<{ expires_at: Date | string | null; revoked_at: Date | string | null }[]>(
      sql.LOCK_AS_PARENT,
      [parentId],
      'all',
      this.em.getTransactionContext(),
    );
    if (!row) return null;
    return {
      expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
      revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    };
  }

  /**
   * What the token's ancestors impose on it: their permission lists (nearest last), the earliest
   * expiry among them and whether any is revoked. Stored cascades keep children in step with their
   * ancestors; this makes verification hold the rule even for a child a cascade missed.
   */
  async lineageOf(token: Pick<Token, 'ancestorIds'>): Promise<Lineage> {
    if (token.ancestorIds.length === 0) return { lists: [], expiresAt: null, revokedAt: null };
    const ancestors = await this.em.find(Token, { id: { $in: token.ancestorIds } }, { fields: ['id', 'permissions', 'expiresAt', 'revokedAt'] });
    const byId = new Map(ancestors.map((a) => [a.id, a]));
    const earliest = (dates: (Date | null)[]) => dates.reduce<Date | null>((min, d) => (d && (!min || d < min) ? d : min), null);
    return {
      // An ancestor that is gone (it never is: tokens are not deleted) would bound nothing: refuse all.
      lists: token.ancestorIds.map((id) => byId.get(id)?.permissions ?? ['none.none']),
      expiresAt: earliest(ancestors.map((a) => a.expiresAt)),
      revokedAt: earliest(ancestors.map((a) => a.revokedAt)),
    };
  }

  /**
   * Changes a token only while it is still active, so that a concurrent revocation or expiry
   * wins. Returns whether it changed.
   */
  async updateIfActive(id: string, now: Date, changes: Partial<Token>): Promise<boolean> {
    const count = await this.em.nativeUpdate(
      Token,
      { $and: [{ id }, activeAt(now)] },
      { ...changes, updatedAt: now },
    );
    return count > 0;
  }

  /**
   * Gives a token a new secret, compare-and-swap on the current one, inside the caller's
   * transaction: the previous secret becomes a retired one valid until `validUntil`, and any
   * grace period still running ends now. Returns false when another rotation or a revocation won.
   */
  async rotateSecret(rotation: SecretRotation): Promise<boolean> {
    const { id, previous, next, now, validUntil } = rotation;
    const connection = this.em.getConnection();
    const ctx = this.em.getTransactionContext();
    const swapped = await connection.execute(
      sql.SWAP_SECRET,
      [next.hash, next.prefix, now, rotation.graceful ? validUntil : null, now, id, previous.hash],
      'run',
      ctx,
    );
    if ((swapped as { affectedRows?: number }).affectedRows !== 1) return false;
    await connection.execute(sql.END_GRACE_PERIODS, [now, id, now], 'run', ctx);
    await connection.execute(sql.RETIRE_SECRET, [previous.hash, id, previous.prefix, now, validUntil], 'run', ctx);
    return true;
  }

  /** Counts one use against a lifetime quota. The count after this use, or null when the quota is spent. */
  async spendQuota(tokenId: string, quota: number, now: Date): Promise<number | null> {
    const rows = await this.em.getConnection().execute<{ usage_count: string | number }[]>(sql.SPEND_QUOTA, [now, tokenId, quota]);
    return rows.length === 0 ? null : Number(rows[0]!.usage_count);
  }

}

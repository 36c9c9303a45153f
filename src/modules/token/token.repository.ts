import { randomUUID } from 'node:crypto';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type { TeamRole } from '../../auth/principal.js';
import { escapeLike } from '../common/like.js';
import type { KeysetCursor } from '../common/keyset-page.js';
import { TeamMember } from '../team/team-member.entity.js';
import { Revocation } from './revocation.entity.js';
import { Token } from './token.entity.js';
import { RetiredSecretSchema } from './retired-secret.entity.js';
import { snapshotOfToken, type TokenSnapshot } from './token-snapshot.js';

/** Named queries over tokens. Rules live in the service; SQL shapes live here. */

/** Which tokens a list shows. Every condition given must hold. */
export interface TokenListFilter {
  ownerId?: string;
  teamId?: string;
  /** Owners whose email matches, case-insensitively (admin search). */
  ownerEmail?: string;
  /** A token and its descendants: what an API token may manage. */
  lineageOf?: string;
  includeInactive: boolean;
  search?: string | null;
  tag?: string | null;
  now: Date;
}

/** Which tokens a bulk revocation takes. */
export type RevocationTarget =
  | { kind: 'token'; id: string }
  | { kind: 'tokens'; ids: readonly string[] }
  | { kind: 'descendantsOfAny'; ids: readonly string[] }
  | { kind: 'owner'; ownerId: string }
  | { kind: 'ownerInTeam'; ownerId: string; teamId: string }
  | { kind: 'team'; teamId: string }
  | { kind: 'lineage'; of: string };

interface Lineage {
  lists: string[][];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

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
    const [lineage, ownerTeamRole] = await Promise.all([this.lineageOf(token), this.ownerRoleIn(token)]);
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
      `select t.id from tokens t where t.revoked_at is null and t.secret_hash in (?)
       union
       select t.id from retired_secrets r join tokens t on t.id = r.token_id
       where t.revoked_at is null and r.valid_until > ? and r.secret_hash in (?)`,
      [[...secretHashes], now, [...secretHashes]],
      'all',
    );
    return rows.map((row) => row.id);
  }

  /** One page, newest first, and whether more follow. */
  async page(filter: TokenListFilter, first: number, after: KeysetCursor | null) {
    const where = this.where(filter);
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
    const where = this.where({ ...filter, includeInactive: false });
    where.$and.push({ expiresAt: { $ne: null, $lte: until } });
    return this.em.find(Token, where, { orderBy: { expiresAt: 'asc', id: 'asc' }, limit });
  }

  count(filter: TokenListFilter): Promise<number> {
    return this.em.count(Token, this.where(filter));
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
    const [condition, params] = revocationCondition(target);
    const revoked = await connection.execute<{ id: string; secret_hash: string; prefix: string; owner_id: string; team_id: string | null }[]>(
      `update tokens set revoked_at = ?, updated_at = ? where revoked_at is null and ${condition}
       returning id, secret_hash, prefix, owner_id, team_id`,
      [revocation.at, revocation.at, ...params],
      'all',
      ctx,
    );
    if (revoked.length > 0) {
      await connection.execute(
        `insert into revocations (id, token_id, revoked_at, revoked_by, reason) values ${revoked.map(() => '(?, ?, ?, ?, ?)').join(', ')}
         on conflict (token_id) do nothing`,
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
      `update tokens as t set expires_at = ?, updated_at = ?
       from (
         select id, expires_at from tokens
         where ancestor_ids @> array[?]::uuid[] and revoked_at is null and (expires_at is null or expires_at > ?)
         for update
       ) as old
       where t.id = old.id
       returning t.id, t.prefix, t.owner_id, t.team_id, old.expires_at as previous`,
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
      `select expires_at, revoked_at from tokens where id = ? for share`,
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
  private async lineageOf(token: Token): Promise<Lineage> {
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

  private async ownerRoleIn(token: Token): Promise<TeamRole | null> {
    if (!token.team) return null;
    const membership = await this.em.findOne(TeamMember, { team: token.team.id, user: token.owner.id });
    return membership?.role ?? null;
  }

  private where(filter: TokenListFilter): { $and: FilterQuery<Token>[] } {
    const and: FilterQuery<Token>[] = [];
    if (filter.ownerId) and.push({ owner: filter.ownerId });
    if (filter.teamId) and.push({ team: filter.teamId });
    if (filter.ownerEmail) {
      and.push({ owner: { email: { $ilike: escapeLike(filter.ownerEmail) } } });
    }
    if (filter.lineageOf) {
      and.push({ $or: [{ id: filter.lineageOf }, { ancestorIds: { $contains: [filter.lineageOf] } }] });
    }
    if (!filter.includeInactive) {
      and.push({ revokedAt: null }, { $or: [{ expiresAt: null }, { expiresAt: { $gt: filter.now } }] });
    }
    const search = filter.search?.trim();
    if (search) {
      const pattern = escapeLike(search);
      and.push({ $or: [{ name: { $ilike: `%${pattern}%` } }, { prefix: { $ilike: `${pattern}%` } }] });
    }
    if (filter.tag) and.push({ tags: { $contains: [filter.tag] } });
    return { $and: and };
  }
}

function revocationCondition(target: RevocationTarget): [string, unknown[]] {
  switch (target.kind) {
    case 'token':
      return ['id = ?', [target.id]];
    case 'tokens':
      return ['id in (?)', [[...target.ids]]];
    case 'descendantsOfAny':
      return ['ancestor_ids && array[?]::uuid[]', [[...target.ids]]];
    case 'lineage':
      return ['(id = ? or ancestor_ids @> array[?]::uuid[])', [target.of, target.of]];
    case 'owner':
      return ['owner_id = ?', [target.ownerId]];
    case 'ownerInTeam':
      return ['owner_id = ? and team_id = ?', [target.ownerId, target.teamId]];
    case 'team':
      return ['team_id = ?', [target.teamId]];
  }
}

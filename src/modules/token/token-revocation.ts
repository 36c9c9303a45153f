import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../clock.js';
import { afterCommit, inTransaction } from '../../db/transaction.js';
import type { Actor } from '../audit/actor.js';
import { writeAudit } from '../audit/audit-log.js';
import { auditTarget } from './token-audit.js';
import type { TokenEventSink } from './token-events.js';
import { TokenRepository, type RevokedToken } from './token.repository.js';
import type { RevocationTarget } from './token.sql.js';
import type { ManagedTokens } from '../../auth/reach.js';
import { NotFoundError } from '../../errors/errors.js';
import { UserRepository } from '../user/user.repository.js';
import { revocationReason } from './token-guards.js';

export const DEFAULT_REVOKE_REASON = 'Revoked by user';
export const CASCADE_REASON = 'Parent token revoked';

/**
 * Revocation: final, cascading to every descendant, audited, and announced to every instance's
 * caches and to subscribers once (and only once) it has committed.
 */
export class TokenRevocation {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly actor: Actor,
    private readonly events: TokenEventSink,
  ) {}

  /** Revokes every token the caller manages (the panic button: auth/reach.ts says which). */
  revokeManaged(managed: ManagedTokens, reason: string | null | undefined): Promise<number> {
    const text = revocationReason(reason, DEFAULT_REVOKE_REASON);
    if (managed.kind === 'all') throw new Error('revokeManaged takes the tokens of one caller, not every token');
    const target: RevocationTarget = managed.kind === 'lineage' ? { kind: 'lineage', of: managed.tokenId } : { kind: 'owner', ownerId: managed.userId };
    return this.revokeAll(target, text);
  }

  /**
   * Offboarding: revokes every token of everyone who signed in with this email (one email may be
   * several identities), in one transaction.
   */
  async revokeAllOfEmail(email: string, reason: string | null | undefined, defaultReason: string): Promise<{ revokedCount: number; userEmail: string }> {
    const text = revocationReason(reason, defaultReason);
    const users = await new UserRepository(this.em).byEmail(email);
    if (users.length === 0) throw new NotFoundError('No user with this email');
    const revokedCount = await this.revokeAll({ kind: 'owners', ownerIds: users.map((u) => u.id) }, text);
    return { revokedCount, userEmail: users[0]!.email };
  }

  /** Revokes whatever live tokens these secret digests belong to (a current secret, or one in its grace period). */
  async revokeBySecretHashes(secretHashes: string[], reason: string): Promise<void> {
    if (secretHashes.length === 0) return;
    const ids = await new TokenRepository(this.em).liveTokenIdsBySecretHashes(secretHashes, this.clock());
    if (ids.length > 0) await this.revokeAll({ kind: 'tokens', ids }, reason);
  }

  /** Revokes every live token a target covers, in a transaction of its own. Returns how many. */
  async revokeAll(target: RevocationTarget, reason: string): Promise<number> {
    const revoked = await inTransaction(this.em, (tx) => this.revokeAllIn(tx, target, reason));
    return revoked.length;
  }

  /**
   * The same, inside a transaction the caller opened with inTransaction (team changes): each
   * revoked token gets its Revocation row and its audit event there, and is announced after the
   * commit.
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
    afterCommit(tx, () => {
      for (const token of all) this.events({ type: 'REVOKED', tokenId: token.id, prefix: token.prefix, at });
    });
    return all;
  }
}

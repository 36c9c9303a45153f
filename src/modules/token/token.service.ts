import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config.js';
import type { Clock } from '../../clock.js';
import { effectivePermissions, type Principal } from '../../auth/principal.js';
import { grants } from '../../auth/permissions.js';
import { ConflictError, NotFoundError, ValidationError, type FieldProblem } from '../common/errors.js';
import { TeamMember } from '../team/team-member.entity.js';
import type { UserSnapshot } from './token-snapshot.js';
import { Revocation } from './revocation.entity.js';
import { Token } from './token.entity.js';
import { LIMITS, validateTokenFields, type TokenFieldsInput } from './token.input.js';
import { TokenRepository, type TokenCursor, type TokenListFilter } from './token.repository.js';
import { generateSecret } from './token.secret.js';

export interface MintInput extends TokenFieldsInput {
  name: string;
  /** Database id of the team, already decoded; undefined for a personal token. */
  teamId?: string | null;
}

export const DEFAULT_REVOKE_REASON = 'Revoked by user';
const NAME_INDEX = 'tokens_owner_scope_name_unique';

/** The rules of minting, changing and revoking tokens. Resolvers call this; it calls the database. */
export class TokenService {
  private readonly repository: TokenRepository;

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly settings: Config['tokens'],
    /** Told about every token whose secret must stop verifying as it was (revoked, changed). */
    private readonly onChanged: (secretHash: string) => void = () => {},
  ) {
    this.repository = new TokenRepository(em);
  }

  /** Creates a token and returns its secret: the only time the secret exists outside the caller. */
  async mint(principal: Principal, input: MintInput): Promise<{ token: Token; secret: string }> {
    const now = this.clock();
    const fields = validateTokenFields(input, this.expiryPolicy(now), 'mint');
    const permissions = this.grantablePermissions(principal, fields.permissions ?? []);
    const team = input.teamId ? await this.teamOf(principal.user, input.teamId) : null;

    const { secret, hash, displayPrefix } = generateSecret(this.settings.prefix);
    // A fork keeps a failed insert from lingering in the request's unit of work.
    const fork = this.em.fork();
    const token = fork.create(Token, {
      ...fields,
      name: fields.name!,
      owner: principal.user.id,
      team: team ? team.team.id : null,
      prefix: displayPrefix,
      secretHash: hash,
      permissions,
      createdAt: now,
      updatedAt: now,
    });
    try {
      await fork.flush();
    } catch (error) {
      throw this.nameConflictOr(error, token.name, team !== null);
    }
    return { token, secret };
  }

  /** Changes what an active token may do. Only the fields present in the input change. */
  async update(principal: Principal, token: Token, input: TokenFieldsInput): Promise<Token> {
    const now = this.clock();
    this.assertChangeable(token, now);
    const fields = validateTokenFields(input, this.expiryPolicy(now), 'update');
    if (fields.permissions) fields.permissions = this.grantablePermissions(principal, fields.permissions);
    if (Object.keys(fields).length === 0) return token;

    let changed: number;
    try {
      // Conditional on the token still being active, so a concurrent revocation wins.
      changed = await this.em.nativeUpdate(
        Token,
        { id: token.id, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] },
        { ...fields, updatedAt: now },
      );
    } catch (error) {
      throw this.nameConflictOr(error, fields.name ?? token.name, token.team !== null);
    }
    this.onChanged(token.secretHash);
    await this.em.refresh(token);
    if (changed === 0) this.assertChangeable(token, now);
    return token;
  }

  /**
   * Revokes a token. Idempotent: a second revocation (even a concurrent one) keeps the first
   * revocation's time, author and reason, and returns it.
   */
  async revoke(principal: Principal, token: Token, reason?: string | null): Promise<Token> {
    const text = reason?.trim() || DEFAULT_REVOKE_REASON;
    if (text.length > LIMITS.reasonLength) {
      throw ValidationError.forField(['reason'], `reason must be at most ${LIMITS.reasonLength} characters`);
    }
    if (!token.revokedAt) {
      const now = this.clock();
      await this.em.transactional(async (tx) => {
        const claimed = await tx.nativeUpdate(Token, { id: token.id, revokedAt: null }, { revokedAt: now, updatedAt: now });
        if (claimed === 0) return; // someone else revoked it first
        await tx.insert(Revocation, {
          id: randomUUID(),
          token: token.id,
          revokedAt: now,
          revokedBy: principal.user.email,
          reason: text,
        });
      });
      this.onChanged(token.secretHash);
      await this.em.refresh(token);
    }
    return token;
  }

  list(filter: TokenListFilter, first: number, after: TokenCursor | null) {
    return this.repository.page(filter, first, after);
  }

  count(filter: TokenListFilter): Promise<number> {
    return this.repository.count(filter);
  }

  private expiryPolicy(now: Date) {
    return { now, maxLifetimeDays: this.settings.maxLifetimeDays, requireExpiry: this.settings.requireExpiry };
  }

  /**
   * Nobody grants what they do not hold. An API token minting with an empty list gets its own
   * effective set written out, never the owner's wider inheritance.
   */
  private grantablePermissions(principal: Principal, requested: string[]): string[] {
    const held = effectivePermissions(principal);
    const problems: FieldProblem[] = [];
    requested.forEach((permission, index) => {
      if (!grants(held, permission)) {
        problems.push({
          path: ['permissions', String(index)],
          message: `you cannot grant '${permission}': you do not hold it`,
        });
      }
    });
    if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
    if (requested.length === 0 && principal.authMethod === 'API_TOKEN') return held;
    return requested;
  }

  private async teamOf(user: UserSnapshot, teamId: string): Promise<TeamMember> {
    const membership = await this.em.findOne(TeamMember, { team: teamId, user: user.id });
    if (!membership) throw new NotFoundError('Team not found');
    return membership;
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
        `An active token named "${name}" already exists ${inTeam ? 'for you in this team' : 'among your personal tokens'}`,
      );
    }
    return error;
  }
}

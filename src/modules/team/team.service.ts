import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../clock.js';
import type { Principal, TeamRole } from '../../auth/principal.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import { inTransaction } from '../../db/transaction.js';
import type { TokenRevocation } from '../token/token-revocation.js';
import type { User } from '../user/user.entity.js';
import { UserRepository } from '../user/user.repository.js';
import { MembershipRepository } from './membership.repository.js';
import { TeamRepository } from './team.repository.js';
import { TeamMember } from './team-member.entity.js';
import { Team } from './team.entity.js';
import type { Actor } from '../audit/actor.js';
import type { AuditAction } from '../audit/audit-event.entity.js';
import { writeAudit } from '../audit/audit-log.js';

export const REMOVED_FROM_TEAM = 'Removed from team';
export const TEAM_DELETED = 'Team deleted';
const NAME_LENGTH = 64;

/** "Platform Team (EU)" → "platform-team-eu". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, NAME_LENGTH);
}

/**
 * Teams and their members. Every membership change runs in one transaction that first locks the
 * team's row, so two owners acting at once cannot leave a team without an owner, and the tokens a
 * change revokes go in the same transaction. Callers have already been authorized by scopes.
 */
export class TeamService {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly revocations: TokenRevocation,
    private readonly actor: Actor,
  ) {}

  async create(principal: Principal, name: string): Promise<Team> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > NAME_LENGTH) {
      throw ValidationError.forField(['name'], `name must be 1-${NAME_LENGTH} characters after trimming`);
    }
    const slug = slugify(trimmed);
    if (!slug) throw ValidationError.forField(['name'], 'name must contain letters or digits');
    const now = this.clock();
    try {
      return await inTransaction(this.em, async (tx) => {
        const team = new Team({ name: trimmed, slug, now });
        tx.persist(team);
        tx.persist(tx.create(TeamMember, { team, user: principal.user.id, role: 'OWNER', joinedAt: now }));
        await tx.flush();
        await this.audit(tx, team.id, 'TEAM_CREATED', { name: team.name, slug: team.slug });
        return team;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError(`A team whose name makes the slug "${slug}" already exists`);
      }
      throw error;
    }
  }

  async addMember(teamId: string, email: string, role: TeamRole): Promise<{ team: Team; member: TeamMember }> {
    const user = await this.userByEmail(email);
    return this.locked(teamId, async (tx, team) => {
      if (await new MembershipRepository(tx).find(teamId, user.id)) {
        throw new ConflictError(`${user.email} is already a member of this team`);
      }
      const member = tx.create(TeamMember, { team: teamId, user: user.id, role, joinedAt: this.clock() });
      await tx.flush();
      await this.audit(tx, teamId, 'MEMBER_ADDED', { userId: user.id, email: user.email, role });
      return { team, member };
    });
  }

  async updateRole(teamId: string, userId: string, role: TeamRole): Promise<{ team: Team; member: TeamMember }> {
    return this.locked(teamId, async (tx, team) => {
      const member = await this.memberOf(tx, teamId, userId);
      if (member.role === 'OWNER' && role !== 'OWNER') await this.assertAnotherOwner(tx, teamId, 'demoting');
      const from = member.role;
      member.role = role;
      await tx.flush();
      await this.audit(tx, teamId, 'MEMBER_ROLE_CHANGED', { userId, role: { from, to: role } });
      return { team, member };
    });
  }

  /** Removes a member and revokes their tokens in the team (they no longer speak for it). */
  async removeMember(teamId: string, userId: string): Promise<Team> {
    return this.locked(teamId, async (tx, team) => {
      const member = await this.memberOf(tx, teamId, userId);
      if (member.role === 'OWNER') await this.assertAnotherOwner(tx, teamId, 'removing');
      tx.remove(member);
      await tx.flush();
      await this.audit(tx, teamId, 'MEMBER_REMOVED', { userId, role: member.role });
      await this.revocations.revokeAllIn(tx, { kind: 'ownerInTeam', ownerId: userId, teamId }, REMOVED_FROM_TEAM);
      return team;
    });
  }

  /** Deletes a team: hidden from then on, never erased; every team token is revoked. */
  async delete(teamId: string): Promise<Team> {
    return this.locked(teamId, async (tx, team) => {
      team.deletedAt = this.clock();
      await tx.flush();
      await this.audit(tx, teamId, 'TEAM_DELETED', { name: team.name });
      await this.revocations.revokeAllIn(tx, { kind: 'team', teamId }, TEAM_DELETED);
      return team;
    });
  }

  private audit(tx: EntityManager, teamId: string, action: AuditAction, changes: Record<string, unknown>): Promise<void> {
    return writeAudit(tx, this.actor, this.clock(), [{ action, targetType: 'TEAM', targetId: teamId, teamId, changes }]);
  }

  private async locked<T>(teamId: string, work: (tx: EntityManager, team: Team) => Promise<T>): Promise<T> {
    return inTransaction(this.em, async (tx) => {
      const team = await new TeamRepository(tx).lockLive(teamId);
      if (!team) throw new NotFoundError('Team not found');
      return work(tx, team);
    });
  }

  private async memberOf(tx: EntityManager, teamId: string, userId: string): Promise<TeamMember> {
    const member = await new MembershipRepository(tx).find(teamId, userId);
    if (!member) throw new NotFoundError('No such member in this team');
    return member;
  }

  private async assertAnotherOwner(tx: EntityManager, teamId: string, doing: string): Promise<void> {
    const owners = await new MembershipRepository(tx).countOwners(teamId);
    if (owners <= 1) {
      throw new ValidationError(`A team always keeps at least one owner: make someone else an owner before ${doing} this one`, [
        { path: ['userId'], message: 'the last owner' },
      ]);
    }
  }

  /** A user who has signed in at least once, by email (the latest if several share it). */
  private async userByEmail(email: string): Promise<User> {
    const [user] = await new UserRepository(this.em).byEmail(email);
    if (!user) throw new NotFoundError('No user with this email has signed in to Keymint yet');
    return user;
  }
}

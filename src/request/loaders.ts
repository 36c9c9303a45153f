import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../clock.js';
import { createTeamLoaders, type TeamLoaders } from '../modules/team/team.loaders.js';
import type { TeamMember } from '../modules/team/team-member.entity.js';
import { MembershipRepository } from '../modules/team/membership.repository.js';
import { createTokenLoaders, type TokenLoaders } from '../modules/token/token.loaders.js';
import { createUserLoaders, type UserLoaders } from '../modules/user/user.loaders.js';
import { createScopeUsageLoader, createUsageLoader } from '../modules/usage/usage.loaders.js';

/** A request's DataLoaders, created on first use: a request that lists no tokens builds no token loader. */
export class RequestLoaders {
  private tokenLoaders?: TokenLoaders;
  private userLoaders?: UserLoaders;
  private teamLoaders?: TeamLoaders;
  private readonly usageLoaders = new Map<number, ReturnType<typeof createUsageLoader>>();
  private viewerTeams?: Promise<TeamMember[]>;
  private scopeUsage?: ReturnType<typeof createScopeUsageLoader>;
  private readonly answers = new Map<string, Promise<unknown>>();

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly userId: string | null,
  ) {}

  get tokenById() {
    return this.tokens().tokenById;
  }
  get childrenOf() {
    return this.tokens().childrenOf;
  }
  get revocationByTokenId() {
    return this.tokens().revocationByTokenId;
  }
  get userById() {
    return (this.userLoaders ??= createUserLoaders(this.em)).userById;
  }
  get teamById() {
    return this.teams().teamById;
  }
  get membersOf() {
    return this.teams().membersOf;
  }
  /** The caller's membership of a team, by team id (null when not a member). */
  get membership() {
    return this.teams().membership;
  }
  /** The caller's memberships, with their teams (once per request). */
  teamsOfViewer() {
    return (this.viewerTeams ??= this.userId ? new MembershipRepository(this.em).teamsOf(this.userId) : Promise.resolve([]));
  }
  /** A whole owner's or team's usage figures, once per scope and period in a request. */
  get usageOfScope() {
    return (this.scopeUsage ??= createScopeUsageLoader(this.em, this.clock));
  }
  /**
   * One answer per key in a request: a list page asked for again with the same arguments (the same
   * team's tokens, reached through each of its tokens) is fetched once.
   */
  once<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    let answer = this.answers.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = fetch();
      this.answers.set(key, answer);
    }
    return answer;
  }
  /** Usage figures of single tokens over `days`, batched per page. */
  usageOfToken(days: number) {
    let loader = this.usageLoaders.get(days);
    if (!loader) {
      loader = createUsageLoader(this.em, this.clock, days);
      this.usageLoaders.set(days, loader);
    }
    return loader;
  }

  private tokens(): TokenLoaders {
    return (this.tokenLoaders ??= createTokenLoaders(this.em));
  }
  private teams(): TeamLoaders {
    return (this.teamLoaders ??= createTeamLoaders(this.em, this.userId));
  }
}

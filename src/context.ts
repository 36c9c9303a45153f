import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { RequestAuthenticator, RequestFacts } from './authenticate.js';
import { isAdmin, mayManageTokens, mayVerifyTokens, type Principal, type TokenAction } from './auth/principal.js';
import type { AuthenticationFailure } from './modules/common/errors.js';
import { parseGlobalId } from './global-id.js';
import { createTeamLoaders, teamsOf, type TeamLoaders } from './modules/team/team.loaders.js';
import type { TeamMember } from './modules/team/team-member.entity.js';
import type { Team } from './modules/team/team.entity.js';
import { canChangeToken, canRotateToken, canSeeToken, type TokenAccess } from './modules/token/token.access.js';
import type { Token } from './modules/token/token.entity.js';
import { createTokenLoaders, type TokenLoaders } from './modules/token/token.loaders.js';
import { TokenService } from './modules/token/token.service.js';
import type { TokenEvent, TokenEventSink } from './modules/token/token-events.js';
import { actorOf, anonymousActor, type Actor } from './modules/audit/actor.js';
import type { LeakReports } from './modules/token/leak-reports.js';
import type { TokenExchange } from './modules/exchange/token-exchange.js';
import { TeamService } from './modules/team/team.service.js';
import { createUserLoaders, type UserLoaders } from './modules/user/user.loaders.js';
import { User } from './modules/user/user.entity.js';
import { createScopeUsageLoader, createUsageLoader } from './modules/usage/usage.loaders.js';
import type { TokenVerifier } from './modules/verification/token-verifier.js';
import type { Budget, CallerRateLimits } from './limits/caller-rate-limits.js';

/** The scope loaders behind @pothos/plugin-scope-auth: every authorization rule is one of these. */
export interface ScopeLoaders {
  authenticated: boolean;
  session: boolean;
  admin: boolean;
  tokenPermission: (action: TokenAction) => boolean;
  tokenVisible: (target: Token | string) => boolean | Promise<boolean>;
  tokenChangeable: (id: string) => Promise<boolean>;
  tokenRotatable: (id: string) => Promise<boolean>;
  verifier: boolean;
  teamMember: (team: Team | string) => boolean | Promise<boolean>;
  teamOwner: (team: Team | string) => boolean | Promise<boolean>;
}

/** Everything a resolver may use, built fresh for each request. */
export interface Context {
  requestId: string;
  config: Config;
  clock: Clock;
  logger: Logger;
  /** A fork of the ORM's entity manager: its identity map lives and dies with the request. */
  em: EntityManager;
  principal: Principal | null;
  /** Why there is no principal, for the caller. */
  authFailure: AuthenticationFailure | null;
  /** Everything the request said about itself that verification records. */
  request: RequestFacts;
  authScopes: ScopeLoaders;
  loaders: RequestLoaders;
  tokens: TokenService;
  teams: TeamService;
  /** The token service acting as someone else (leak reports act anonymously). */
  tokensAs: (actor: Actor) => TokenService;
  verifier: TokenVerifier;
  leaks: LeakReports;
  exchange: TokenExchange;
  /** Token events as they happen, for the tokenEvents subscription. */
  tokenEventSource: { subscribe(listener: (event: TokenEvent) => void, onEnd?: () => void): () => void };
  /** Spends one unit of the caller's budget (the `rateLimit` field option); throws RateLimitedError when it is spent. */
  spendBudget(budget: Budget): Promise<void>;
}

export interface ContextDependencies {
  config: Config;
  clock: Clock;
  logger: Logger;
  em: EntityManager;
  authenticator: RequestAuthenticator;
  verifier: TokenVerifier;
  /** Where token changes go: this instance's caches, other instances, subscribers. */
  tokenEvents: TokenEventSink;
  tokenEventSource: Context['tokenEventSource'];
  leaks: LeakReports;
  exchange: TokenExchange;
  callerLimits: CallerRateLimits;
}

/** DataLoaders are created on first use: a request that lists no tokens builds no token loader. */
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
    return (this.tokenLoaders ??= createTokenLoaders(this.em)).tokenById;
  }
  get childrenOf() {
    return (this.tokenLoaders ??= createTokenLoaders(this.em)).childrenOf;
  }
  get revocationByTokenId() {
    return (this.tokenLoaders ??= createTokenLoaders(this.em)).revocationByTokenId;
  }
  get userById() {
    return (this.userLoaders ??= createUserLoaders(this.em)).userById;
  }
  get teamById() {
    return (this.teamLoaders ??= createTeamLoaders(this.em, this.userId)).teamById;
  }
  get membersOf() {
    return (this.teamLoaders ??= createTeamLoaders(this.em, this.userId)).membersOf;
  }
  /** The caller's memberships, with their teams (once per request). */
  teamsOfViewer() {
    return (this.viewerTeams ??= this.userId ? teamsOf(this.em, this.userId) : Promise.resolve([]));
  }
  /** The caller's membership of a team, by team id (null when not a member). */
  get membership() {
    return (this.teamLoaders ??= createTeamLoaders(this.em, this.userId)).membership;
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
}

export async function createContext(
  deps: ContextDependencies,
  request: RequestFacts,
  requestId: string,
): Promise<Context> {
  const em = deps.em.fork();
  const { principal, failure } = await deps.authenticator.authenticate(request, () => em);
  const loaders = new RequestLoaders(em, deps.clock, principal?.user.id ?? null);
  const logger = deps.logger.child({ requestId });
  // The caller is the owner of whatever they will be shown first: no query to load them again.
  if (principal?.user instanceof User) loaders.userById.prime(principal.user.id, principal.user);
  const actor = principal ? actorOf(principal, request) : anonymousActor(request);
  const tokensAs = (who: Actor) =>
    new TokenService({
      em,
      clock: deps.clock,
      settings: deps.config.tokens,
      actor: who,
      // Revoking or changing a token drops it from the verification caches before the mutation returns.
      events: deps.tokenEvents,
    });
  const tokens = tokensAs(actor);

  return {
    requestId,
    config: deps.config,
    clock: deps.clock,
    logger,
    em,
    principal,
    authFailure: failure,
    request,
    authScopes: scopeLoaders(principal, loaders),
    loaders,
    tokens,
    teams: new TeamService(em, deps.clock, tokens, actor),
    tokensAs,
    verifier: deps.verifier,
    leaks: deps.leaks,
    exchange: deps.exchange,
    tokenEventSource: deps.tokenEventSource,
    // Only reached past the field's scopes, so there is a principal. An API token has a budget of
    // its own; its secrets also count against its owner's, or minting tokens would multiply it.
    spendBudget: (budget) => {
      const user = `user:${principal?.user.id ?? 'anonymous'}`;
      const callers = principal?.token ? [`token:${principal.token.id}`, ...(budget === 'mint' ? [user] : [])] : [user];
      return deps.callerLimits.spend(callers, budget);
    },
  };
}

function scopeLoaders(principal: Principal | null, loaders: RequestLoaders): ScopeLoaders {
  const admin = principal !== null && isAdmin(principal);
  const access: TokenAccess | null = principal && {
    principal,
    roleIn: async (teamId) => (await loaders.membership.load(teamId))?.role ?? null,
  };
  const tokenById = async (id: string) => {
    const dbId = parseGlobalId('Token', id);
    return dbId ? loaders.tokenById.load(dbId) : null;
  };
  // A Team the schema already holds, or a client's global id: anything else names no team (and so
  // never reaches SQL, where a malformed uuid is a server error).
  const teamDbId = (target: Team | string) => (typeof target === 'string' ? parseGlobalId('Team', target) : target.id);
  return {
    authenticated: principal !== null,
    session: principal?.authMethod === 'SESSION',
    admin,
    tokenPermission: (action) => principal !== null && mayManageTokens(principal, action),
    tokenVisible: async (target) => {
      if (!access) return false;
      const token = typeof target === 'string' ? await tokenById(target) : target;
      return token !== null && canSeeToken(access, token);
    },
    tokenChangeable: async (id) => {
      const token = access && (await tokenById(id));
      return !!token && canChangeToken(access, token);
    },
    tokenRotatable: async (id) => {
      const token = principal && (await tokenById(id));
      return !!token && canRotateToken(principal, token);
    },
    verifier: principal !== null && mayVerifyTokens(principal),
    // Teams are their members' business: anyone else (but an administrator) finds nothing.
    teamMember: async (target) => {
      if (!principal) return false;
      const dbId = teamDbId(target);
      if (!dbId) return false;
      const team = await loaders.teamById.load(dbId);
      if (!team || team.deletedAt) return false;
      return admin || (await loaders.membership.load(dbId)) !== null;
    },
    teamOwner: async (target) => {
      if (!principal) return false;
      const dbId = teamDbId(target);
      if (!dbId) return false;
      return admin || (await loaders.membership.load(dbId))?.role === 'OWNER';
    },
  };
}

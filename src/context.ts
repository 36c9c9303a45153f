import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { RequestAuthenticator, RequestFacts } from './request/authenticate.js';
import type { Principal } from './auth/principal.js';
import { scopeLoaders, type AuthorizationPort, type ScopeLoaders } from './auth/scopes.js';
import { UnauthenticatedError, type AuthenticationFailure } from './errors/errors.js';
import { actorOf, anonymousActor } from './modules/audit/actor.js';
import type { AuditTrail } from './modules/audit/audit-trail.js';
import type { TeamService } from './modules/team/team.service.js';
import type { TokenEvent } from './modules/token/token-events.js';
import type { TokenService } from './modules/token/token.service.js';
import type { TokenRevocation } from './modules/token/token-revocation.js';
import type { LeakReports } from './modules/token/leak-reports.js';
import type { TokenExchange } from './modules/exchange/token-exchange.js';
import { User } from './modules/user/user.entity.js';
import type { UsageReports } from './modules/usage/usage-reports.js';
import type { TokenVerifier } from './modules/verification/token-verifier.js';
import type { Budget, CallerRateLimits } from './limits/caller-rate-limits.js';
import type { ActingServiceFactory } from './services.js';
import { RequestLoaders } from './request/loaders.js';

/** Everything a resolver may use, built fresh for each request. */
export interface Context {
  requestId: string;
  config: Config;
  clock: Clock;
  logger: Logger;
  principal: Principal | null;
  /** The authenticated caller, for resolvers behind an `authenticated` scope (it throws for anyone else). */
  caller(): Principal;
  /** Why there is no principal, for the caller. */
  authFailure: AuthenticationFailure | null;
  /** Everything the request said about itself that verification records. */
  request: RequestFacts;
  authScopes: ScopeLoaders;
  loaders: RequestLoaders;
  tokens: TokenService;
  revocations: TokenRevocation;
  teams: TeamService;
  audit: AuditTrail;
  verifier: TokenVerifier;
  usageReports: UsageReports;
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
  /** The ORM's root entity manager: each request works in a fork of it. */
  em: EntityManager;
  authenticator: RequestAuthenticator;
  services: ActingServiceFactory;
  verifier: TokenVerifier;
  usageReports: UsageReports;
  tokenEventSource: Context['tokenEventSource'];
  leaks: LeakReports;
  exchange: TokenExchange;
  callerLimits: CallerRateLimits;
}

export async function createContext(deps: ContextDependencies, request: RequestFacts, requestId: string): Promise<Context> {
  const em = deps.em.fork();
  const { principal, failure } = await deps.authenticator.authenticate(request, () => em);
  const loaders = new RequestLoaders(em, deps.clock, principal?.user.id ?? null);
  const logger = deps.logger.child({ requestId });
  // The caller is the owner of whatever they will be shown first: no query to load them again.
  if (principal?.user instanceof User) loaders.userById.prime(principal.user.id, principal.user);
  const { tokens, revocations, teams, audit } = deps.services(em, principal ? actorOf(principal, request) : anonymousActor(request));

  return {
    requestId,
    config: deps.config,
    clock: deps.clock,
    logger,
    principal,
    caller: () => {
      if (!principal) throw new UnauthenticatedError(failure ?? { message: 'Authentication required', code: 'UNAUTHENTICATED' });
      return principal;
    },
    authFailure: failure,
    request,
    authScopes: scopeLoaders(principal, authorizationPort(loaders)),
    loaders,
    tokens,
    revocations,
    teams,
    audit,
    verifier: deps.verifier,
    usageReports: deps.usageReports,
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

/** What the authorization scopes look up, through this request's loaders (batched and cached). */
function authorizationPort(loaders: RequestLoaders): AuthorizationPort {
  return {
    token: (id) => loaders.tokenById.load(id),
    team: (id) => loaders.teamById.load(id),
    roleIn: async (teamId) => (await loaders.membership.load(teamId))?.role ?? null,
  };
}

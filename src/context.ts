import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { RequestAuthenticator, RequestFacts } from './authenticate.js';
import { mayManageTokens, mayVerifyTokens, type Principal, type TokenAction } from './auth/principal.js';
import type { AuthenticationFailure } from './modules/common/errors.js';
import { parseGlobalId } from './global-id.js';
import { createTeamLoaders, type TeamLoaders } from './modules/team/team.loaders.js';
import { canSeeToken } from './modules/token/token.access.js';
import type { Token } from './modules/token/token.entity.js';
import { createTokenLoaders, type TokenLoaders } from './modules/token/token.loaders.js';
import { TokenService } from './modules/token/token.service.js';
import { createUserLoaders, type UserLoaders } from './modules/user/user.loaders.js';
import { User } from './modules/user/user.entity.js';
import { createUsageLoader } from './modules/usage/usage.loaders.js';
import type { TokenVerifier } from './modules/verification/token-verifier.js';

/** The scope loaders behind @pothos/plugin-scope-auth: every authorization rule is one of these. */
export interface ScopeLoaders {
  authenticated: boolean;
  tokenAction: (action: TokenAction) => boolean;
  tokenVisible: (target: Token | string) => boolean | Promise<boolean>;
  verifier: boolean;
  teamOwner: (teamId: string) => Promise<boolean>;
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
  verifier: TokenVerifier;
}

export interface ContextDependencies {
  config: Config;
  clock: Clock;
  logger: Logger;
  em: EntityManager;
  authenticator: RequestAuthenticator;
  verifier: TokenVerifier;
}

/** DataLoaders are created on first use: a request that lists no tokens builds no token loader. */
export class RequestLoaders {
  private tokenLoaders?: TokenLoaders;
  private userLoaders?: UserLoaders;
  private teamLoaders?: TeamLoaders;
  private readonly usageLoaders = new Map<number, ReturnType<typeof createUsageLoader>>();

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly userId: string | null,
  ) {}

  get tokenById() {
    return (this.tokenLoaders ??= createTokenLoaders(this.em)).tokenById;
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
  /** The caller's membership of a team, by team id (null when not a member). */
  get membership() {
    return (this.teamLoaders ??= createTeamLoaders(this.em, this.userId)).membership;
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
    // Revoking or changing a token drops it from the verification cache before the mutation returns.
    tokens: new TokenService(em, deps.clock, deps.config.tokens, (secretHash) => deps.verifier.forget(secretHash)),
    verifier: deps.verifier,
  };
}

function scopeLoaders(principal: Principal | null, loaders: RequestLoaders): ScopeLoaders {
  return {
    authenticated: principal !== null,
    tokenAction: (action) => principal !== null && mayManageTokens(principal, action),
    tokenVisible: (target) => {
      if (!principal) return false;
      if (typeof target !== 'string') return canSeeToken(principal, target);
      const id = parseGlobalId('Token', target);
      if (!id) return false;
      return loaders.tokenById.load(id).then((token) => token !== null && canSeeToken(principal, token));
    },
    verifier: principal !== null && mayVerifyTokens(principal),
    teamOwner: async (teamId) => {
      if (!principal) return false;
      const membership = await loaders.membership.load(teamId);
      return membership?.role === 'OWNER';
    },
  };
}

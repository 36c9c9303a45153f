import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { RequestAuthenticator } from './authenticate.js';
import { mayManageTokens, type Principal, type TokenAction } from './auth/principal.js';
import { parseGlobalId } from './global-id.js';
import { createTeamLoaders, type TeamLoaders } from './modules/team/team.loaders.js';
import { canSeeToken } from './modules/token/token.access.js';
import type { Token } from './modules/token/token.entity.js';
import { createTokenLoaders, type TokenLoaders } from './modules/token/token.loaders.js';
import { TokenService } from './modules/token/token.service.js';
import { createUserLoaders, type UserLoaders } from './modules/user/user.loaders.js';

/** The scope loaders behind @pothos/plugin-scope-auth: every authorization rule is one of these. */
export interface ScopeLoaders {
  authenticated: boolean;
  tokenAction: (action: TokenAction) => boolean;
  tokenVisible: (target: Token | string) => boolean | Promise<boolean>;
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
  /** Why there is no principal, in words for the caller. */
  authenticationProblem: string;
  authScopes: ScopeLoaders;
  loaders: RequestLoaders;
  tokens: TokenService;
}

export interface ContextDependencies {
  config: Config;
  clock: Clock;
  logger: Logger;
  em: EntityManager;
  authenticator: RequestAuthenticator;
}

/** DataLoaders are created on first use: a request that lists no tokens builds no token loader. */
export class RequestLoaders {
  private tokenLoaders?: TokenLoaders;
  private userLoaders?: UserLoaders;
  private teamLoaders?: TeamLoaders;

  constructor(private readonly em: EntityManager) {}

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
    return (this.teamLoaders ??= createTeamLoaders(this.em)).teamById;
  }
}

export async function createContext(
  deps: ContextDependencies,
  headers: Headers,
  requestId: string,
): Promise<Context> {
  const em = deps.em.fork();
  const { principal, problem } = await deps.authenticator.authenticate(headers, em);
  const loaders = new RequestLoaders(em);
  const logger = deps.logger.child({ requestId });
  // The caller is the owner of whatever they will be shown first: no query to load them again.
  if (principal) loaders.userById.prime(principal.user.id, principal.user);

  return {
    requestId,
    config: deps.config,
    clock: deps.clock,
    logger,
    em,
    principal,
    authenticationProblem: problem ?? '',
    authScopes: scopeLoaders(principal, loaders),
    loaders,
    tokens: new TokenService(em, deps.clock, deps.config.tokens),
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
  };
}

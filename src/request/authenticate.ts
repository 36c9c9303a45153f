import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../clock.js';
import type { Principal } from '../auth/principal.js';
import { AuthenticationError } from '../auth/authentication-error.js';
import type { SessionVerifier } from '../auth/session-verifier.js';
import type { AuthenticationFailure } from '../errors/errors.js';
import { looksLikeSecret } from '../modules/token/token.secret.js';
import type { UserService } from '../modules/user/user.service.js';
import type { TokenVerifier } from '../modules/verification/token-verifier.js';
import type { Outcome } from '../modules/verification/verification.js';

export const SESSION_COOKIE = 'auth_token';

export type AuthOutcome = { principal: Principal; failure: null } | { principal: null; failure: AuthenticationFailure };

/** What authentication needs from a request, whichever server (yoga or plain node) received it. */
export interface RequestFacts {
  authorization: string | null;
  cookie: string | null;
  clientIp: string | null;
  method: string;
  endpoint: string;
  userAgent: string | null;
}

export interface RequestAuthenticatorOptions {
  sessionVerifier: SessionVerifier | null;
  tokenVerifier: TokenVerifier;
  tokenPrefix: string;
  /** Keymint's own server id: an API token bound to another server cannot call Keymint. */
  serverId: string;
  clock: Clock;
  /** The user service over a request's entity manager: keeps users in step with session claims. */
  users: (em: EntityManager) => UserService;
}

const REFUSALS: Record<Exclude<Outcome, 'VALID'>, string> = {
  MALFORMED: 'Malformed API token: its checksum does not match',
  NOT_FOUND: 'Unknown API token',
  REVOKED: 'This API token has been revoked',
  EXPIRED: 'This API token has expired',
  WRONG_SERVER: 'This API token is bound to another server',
  IP_NOT_ALLOWED: 'This API token may not be used from this address',
  OUTSIDE_TIME_WINDOW: 'This API token may not be used at this time',
  INSUFFICIENT_PERMISSIONS: 'This API token lacks the permissions this request needs',
  RATE_LIMITED: 'This API token is over its rate limit',
  USAGE_EXCEEDED: 'This API token has used up its lifetime quota',
};

/**
 * Turns a request's credentials into a Principal: a session JWT (Authorization: Bearer or the
 * auth_token cookie) or a Keymint API token in the same places. An API token goes through the
 * same verifier as a resource server's check (restrictions, limits, usage recording), with
 * Keymint as the server. Never throws for bad credentials: it says what was wrong.
 */
export class RequestAuthenticator {
  constructor(private readonly options: RequestAuthenticatorOptions) {}

  async authenticate(facts: RequestFacts, em: () => EntityManager): Promise<AuthOutcome> {
    const credential = readCredential(facts);
    if (credential.kind === 'none') {
      return failure('Authentication required: send "Authorization: Bearer <session JWT or API token>"');
    }
    if (credential.kind === 'invalid') return failure(credential.problem);
    if (looksLikeSecret(this.options.tokenPrefix, credential.value)) {
      return this.fromApiToken(credential.value, facts);
    }
    try {
      return { principal: await this.fromSession(credential.value, em), failure: null };
    } catch (error) {
      if (error instanceof AuthenticationError) return failure(error.message);
      throw error;
    }
  }

  private async fromSession(jwt: string, em: () => EntityManager): Promise<Principal> {
    if (!this.options.sessionVerifier) {
      throw new AuthenticationError('Session tokens are not accepted: no session verification is configured');
    }
    const claims = await this.options.sessionVerifier.verify(jwt);
    const user = await this.options.users(em()).syncFromClaims(claims, this.options.clock());
    return { authMethod: 'SESSION', user, token: null };
  }

  private async fromApiToken(secret: string, facts: RequestFacts): Promise<AuthOutcome> {
    const verification = await this.options.tokenVerifier.verify(secret, {
      serverId: this.options.serverId,
      clientIp: facts.clientIp,
      endpoint: facts.endpoint,
      method: facts.method,
      userAgent: facts.userAgent,
    });
    if (verification.valid && verification.token) {
      const token = verification.token;
      return { principal: { authMethod: 'API_TOKEN', user: token.owner, token }, failure: null };
    }
    const outcome = verification.outcome as Exclude<Outcome, 'VALID'>;
    const limited = outcome === 'RATE_LIMITED' || outcome === 'USAGE_EXCEEDED';
    return {
      principal: null,
      failure: {
        message: REFUSALS[outcome],
        code: limited ? outcome : 'UNAUTHENTICATED',
        retryAfterSeconds: verification.retryAfterSeconds,
      },
    };
  }
}

function failure(message: string): AuthOutcome {
  return { principal: null, failure: { message, code: 'UNAUTHENTICATED' } };
}

type Credential = { kind: 'none' } | { kind: 'invalid'; problem: string } | { kind: 'bearer'; value: string };

function readCredential(facts: RequestFacts): Credential {
  if (facts.authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(facts.authorization);
    if (!match) {
      return { kind: 'invalid', problem: 'Malformed Authorization header: expected "Bearer <token>"' };
    }
    return { kind: 'bearer', value: match[1]! };
  }
  const cookie = readCookie(facts.cookie, SESSION_COOKIE);
  return cookie ? { kind: 'bearer', value: cookie } : { kind: 'none' };
}

function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === name) {
      const value = part.slice(separator + 1).trim();
      try {
        return decodeURIComponent(value) || null;
      } catch {
        return value || null;
      }
    }
  }
  return null;
}

/**
 * The client's address: the socket's peer, or, behind `trustProxyHops` reverse proxies, the
 * address the outermost trusted proxy saw (counted from the right of X-Forwarded-For, since
 * anything to the left may have been written by the client itself).
 */
export function clientIpOf(socketAddress: string | null | undefined, forwardedFor: string | null, trustProxyHops: number): string | null {
  if (trustProxyHops > 0 && forwardedFor) {
    const hops = forwardedFor.split(',').map((entry) => entry.trim()).filter(Boolean);
    if (hops.length > 0) return hops[Math.max(0, hops.length - trustProxyHops)]!;
  }
  return socketAddress ?? null;
}

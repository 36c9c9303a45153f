import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from './clock.js';
import type { Principal } from './auth/principal.js';
import { AuthenticationError } from './auth/authentication-error.js';
import type { SessionVerifier } from './auth/session-verifier.js';
import { TokenRepository } from './modules/token/token.repository.js';
import { hasValidChecksum, hashSecret, looksLikeSecret } from './modules/token/token.secret.js';
import { UserService } from './modules/user/user.service.js';

export const SESSION_COOKIE = 'auth_token';

export type AuthOutcome = { principal: Principal; problem: null } | { principal: null; problem: string };

export interface RequestAuthenticatorOptions {
  sessionVerifier: SessionVerifier | null;
  tokenPrefix: string;
  clock: Clock;
}

/**
 * Turns a request's credentials into a Principal: a session JWT (Authorization: Bearer or the
 * auth_token cookie) or a Keymint API token in the same places. Never throws for bad
 * credentials: it reports what was wrong, and the authorization layer answers UNAUTHENTICATED.
 */
export class RequestAuthenticator {
  constructor(private readonly options: RequestAuthenticatorOptions) {}

  async authenticate(headers: Headers, em: EntityManager): Promise<AuthOutcome> {
    const credential = readCredential(headers);
    if (credential.kind === 'none') {
      return failure('Authentication required: send "Authorization: Bearer <session JWT or API token>"');
    }
    if (credential.kind === 'invalid') return failure(credential.problem);
    try {
      const principal = looksLikeSecret(this.options.tokenPrefix, credential.value)
        ? await this.fromApiToken(credential.value, em)
        : await this.fromSession(credential.value, em);
      return { principal, problem: null };
    } catch (error) {
      if (error instanceof AuthenticationError) return failure(error.message);
      throw error;
    }
  }

  private async fromSession(jwt: string, em: EntityManager): Promise<Principal> {
    if (!this.options.sessionVerifier) {
      throw new AuthenticationError('Session tokens are not accepted: no session verification is configured');
    }
    const claims = await this.options.sessionVerifier.verify(jwt);
    const user = await new UserService(em).syncFromClaims(claims, this.options.clock());
    return { authMethod: 'SESSION', user, token: null };
  }

  private async fromApiToken(secret: string, em: EntityManager): Promise<Principal> {
    // A wrong checksum is refused before any database work.
    if (!hasValidChecksum(this.options.tokenPrefix, secret)) {
      throw new AuthenticationError('Malformed API token: its checksum does not match');
    }
    const token = await new TokenRepository(em).findBySecretHash(hashSecret(secret));
    if (!token) throw new AuthenticationError('Unknown API token');
    switch (token.status(this.options.clock())) {
      case 'REVOKED':
        throw new AuthenticationError('This API token has been revoked');
      case 'EXPIRED':
        throw new AuthenticationError('This API token has expired');
      case 'ACTIVE':
        return { authMethod: 'API_TOKEN', user: token.owner.getEntity(), token };
    }
  }
}

function failure(problem: string): AuthOutcome {
  return { principal: null, problem };
}

type Credential = { kind: 'none' } | { kind: 'invalid'; problem: string } | { kind: 'bearer'; value: string };

function readCredential(headers: Headers): Credential {
  const authorization = headers.get('authorization');
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      return { kind: 'invalid', problem: 'Malformed Authorization header: expected "Bearer <token>"' };
    }
    return { kind: 'bearer', value: match[1]! };
  }
  const cookie = readCookie(headers.get('cookie'), SESSION_COOKIE);
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

import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../../clock.js';
import { encodeGlobalId } from '../../global-id.js';
import { ValidationError } from '../../errors/errors.js';
import type { TokenVerifier } from '../verification/token-verifier.js';
import type { VerificationRequest } from '../verification/verification.js';
import type { SigningKeys } from './signing-keys.js';

export const EXCHANGE_ISSUER = 'keymint';

export interface ExchangedToken {
  jwt: string;
  expiresAt: Date;
}

/**
 * Trades a valid API token for a short-lived JWT that gateways verify offline against
 * /.well-known/jwks.json: no network hop, at the price of a revocation reaching them only when
 * the JWT expires (EXCHANGED_TOKEN_TTL_SECONDS, default 5 minutes, never past the token's
 * expiry). The exchange is a use of the token: the same checks run, and it is recorded.
 */
export class TokenExchange {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async exchange(secret: string, request: VerificationRequest): Promise<ExchangedToken> {
    const verification = await this.verifier.verify(secret, request);
    const token = verification.token;
    if (!verification.valid || !token) {
      throw ValidationError.forField(['token'], `the token cannot be exchanged: ${verification.outcome}`);
    }
    const now = this.clock().getTime();
    const expiresAt = new Date(Math.min(now + this.ttlSeconds * 1000, token.expiresAt ?? Infinity));
    const { kid, key } = await this.keys.signingKey();
    const jwt = await new SignJWT({
      token_id: encodeGlobalId('Token', token.id),
      team_id: token.teamId ? encodeGlobalId('Team', token.teamId) : null,
      permissions: verification.permissions,
      scope: verification.permissions.join(' '),
      ...(token.serverId ? { server_id: token.serverId } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .setIssuer(EXCHANGE_ISSUER)
      .setSubject(encodeGlobalId('User', token.owner.id))
      .setAudience(token.serverId ?? EXCHANGE_ISSUER)
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(key);
    return { jwt, expiresAt };
  }
}

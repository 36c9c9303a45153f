import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { AuthenticationError } from './authentication-error.js';
import { readSessionClaims, type SessionClaims, type SessionRules } from './session-claims.js';

export interface SessionVerifierOptions extends SessionRules {
  /** HS256 shared secret. */
  secret?: string;
  /** Remote JSON Web Key Set for asymmetric tokens from an identity provider. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

/** Verified sessions are remembered until their exp (at most this long), in a bounded cache. */
const CACHE_MAX_TTL_MS = 10 * 60 * 1000;
const CACHE_MAX_ENTRIES = 10_000;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Verifies session JWTs with jose: HS256 with a shared secret, or keys from a remote JWKS.
 * A signature check costs about 100 µs; a client sends the same session many times, so
 * verified claims are cached by the exact token string until it expires.
 */
export class SessionVerifier {
  private readonly verified = new LRUCache<string, SessionClaims>({ max: CACHE_MAX_ENTRIES, ttl: CACHE_MAX_TTL_MS });
  private readonly secretKey?: Uint8Array;
  private readonly jwks?: JWTVerifyGetKey;
  private readonly verifyOptions: JWTVerifyOptions;

  constructor(private readonly options: SessionVerifierOptions) {
    if (!options.secret && !options.jwksUrl) {
      throw new Error('SessionVerifier needs a secret or a JWKS URL');
    }
    this.secretKey = options.secret ? new TextEncoder().encode(options.secret) : undefined;
    this.jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
    this.verifyOptions = {
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['sub'],
    };
  }

  async verify(jwt: string): Promise<SessionClaims> {
    const cached = this.verified.get(jwt);
    if (cached && cached.expiresAt.getTime() > Date.now()) return cached;
    const claims = await this.verifyUncached(jwt);
    const ttl = Math.min(claims.expiresAt.getTime() - Date.now(), CACHE_MAX_TTL_MS);
    if (ttl > 0) this.verified.set(jwt, claims, { ttl });
    return claims;
  }

  private async verifyUncached(jwt: string): Promise<SessionClaims> {
    let algorithm: string | undefined;
    try {
      algorithm = decodeProtectedHeader(jwt).alg;
    } catch {
      throw new AuthenticationError('Malformed credentials: not a Keymint API token nor a valid JWT');
    }
    try {
      const { payload } =
        algorithm === 'HS256' && this.secretKey
          ? await jwtVerify(jwt, this.secretKey, { ...this.verifyOptions, algorithms: ['HS256'] })
          : this.jwks && algorithm && ASYMMETRIC_ALGORITHMS.includes(algorithm)
            ? await jwtVerify(jwt, this.jwks, { ...this.verifyOptions, algorithms: ASYMMETRIC_ALGORITHMS })
            : unsupportedAlgorithm(algorithm);
      return readSessionClaims(payload, this.options, new Date());
    } catch (error) {
      throw explain(error);
    }
  }
}

function unsupportedAlgorithm(algorithm: string | undefined): never {
  throw new AuthenticationError(
    `Session token signed with an algorithm this server does not accept (${algorithm ?? 'none'})`,
  );
}

/** Turns jose's errors into messages a caller can act on. */
function explain(error: unknown): Error {
  if (error instanceof AuthenticationError) return error;
  if (error instanceof errors.JWTExpired) return new AuthenticationError('Session token has expired');
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthenticationError('Session token signature is invalid');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new AuthenticationError(`Session token rejected: the '${error.claim}' claim is not valid here`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new AuthenticationError('Session token was signed with an unknown key');
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new AuthenticationError('Session token could not be checked: the signing keys are unavailable');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new AuthenticationError('Session token signed with an algorithm this server does not accept');
  }
  if (error instanceof errors.JOSEError) return new AuthenticationError('Malformed session token');
  return error instanceof Error ? error : new Error(String(error));
}

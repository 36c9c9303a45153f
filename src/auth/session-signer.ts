import { SignJWT } from 'jose';
import type { ClaimNames } from './session-claims.js';

export interface SessionToSign {
  subject: string;
  email: string;
  name?: string;
  permissions?: string[];
  admin?: boolean;
  /** Lifetime in seconds (default 12 hours), counted from the issue time. */
  ttlSeconds?: number;
  /** The issue time (`iat`), in seconds since the epoch; default now. */
  issuedAt?: number;
}

/** Signs an HS256 session JWT the way an identity provider would; for `npm run session` and tests. */
export async function signSession(
  secret: string,
  session: SessionToSign,
  claimNames: ClaimNames = { permissionsClaim: 'permissions', adminClaim: 'admin' },
  options: { issuer?: string; audience?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({
    email: session.email,
    ...(session.name ? { name: session.name } : {}),
    [claimNames.permissionsClaim]: session.permissions ?? [],
    [claimNames.adminClaim]: session.admin ?? false,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(session.subject)
    .setIssuedAt(session.issuedAt)
    .setExpirationTime((session.issuedAt ?? Math.floor(Date.now() / 1000)) + (session.ttlSeconds ?? 12 * 3600));
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

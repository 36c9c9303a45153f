import type { JWTPayload } from 'jose';
import { AuthenticationError } from './authentication-error.js';
import { isValidPermission } from './permissions.js';
import { sanitizeText, unstorableText } from '../text.js';

/** What Keymint takes from a verified session JWT. */
export interface SessionClaims {
  subject: string;
  email: string;
  name: string | null;
  permissions: string[];
  isAdmin: boolean;
  expiresAt: Date;
  /** `iat`, never later than when it was verified; null when the session has none. */
  issuedAt: Date | null;
}

export interface ClaimNames {
  permissionsClaim: string;
  adminClaim: string;
}

export interface SessionRules extends ClaimNames {
  /** The longest lifetime (exp - iat, or exp - now without iat) a session may have. */
  maxAgeSeconds: number;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

export function readSessionClaims(payload: JWTPayload, rules: SessionRules, now: Date): SessionClaims {
  const { sub, email, name, exp, iat } = payload as JWTPayload & { email?: unknown; name?: unknown };
  // Identifiers that PostgreSQL could not store are as good as missing.
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255 || unstorableText(sub)) {
    throw new AuthenticationError("Session token is missing the required 'sub' claim");
  }
  if (typeof email !== 'string' || !EMAIL_PATTERN.test(email) || email.length > 320 || unstorableText(email)) {
    throw new AuthenticationError("Session token is missing the required 'email' claim");
  }
  // A session that never expires would be a password by another name.
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new AuthenticationError("Session token has no 'exp' claim: Keymint accepts only sessions that expire");
  }
  const nowSeconds = now.getTime() / 1000;
  const issued = typeof iat === 'number' && Number.isFinite(iat) ? Math.min(iat, nowSeconds) : null;
  if (exp - (issued ?? nowSeconds) > rules.maxAgeSeconds) {
    throw new AuthenticationError(
      `Session token lives longer than this server accepts: at most ${rules.maxAgeSeconds} seconds from issue to expiry (SESSION_MAX_AGE_SECONDS)`,
    );
  }
  return {
    subject: sub,
    email,
    // A display name is whatever the person typed at their provider: cleaned, not refused.
    name: typeof name === 'string' ? sanitizeText(name.trim(), 255) : null,
    permissions: readPermissions(payload[rules.permissionsClaim]),
    // Only a JSON true: "true", 1 or "yes" from a misconfigured provider grant nothing.
    isAdmin: payload[rules.adminClaim] === true,
    expiresAt: new Date(exp * 1000),
    issuedAt: issued === null ? null : new Date(Math.floor(issued * 1000)),
  };
}

/**
 * Identity providers send permissions as an array or as an OAuth-style space-separated string.
 * Entries that are not valid permissions are ignored rather than failing the whole session:
 * ignoring can only take power away.
 */
function readPermissions(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
  const valid = list.filter((p): p is string => typeof p === 'string' && isValidPermission(p));
  return [...new Set(valid)].sort();
}

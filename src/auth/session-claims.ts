import type { JWTPayload } from 'jose';
import { AuthenticationError } from './authentication-error.js';
import { isValidPermission } from './permissions.js';

/** What Keymint takes from a verified session JWT. */
export interface SessionClaims {
  subject: string;
  email: string;
  name: string | null;
  permissions: string[];
  isAdmin: boolean;
  expiresAt: Date | null;
}

export interface ClaimNames {
  permissionsClaim: string;
  adminClaim: string;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

export function readSessionClaims(payload: JWTPayload, names: ClaimNames): SessionClaims {
  const { sub, email, name } = payload as JWTPayload & { email?: unknown; name?: unknown };
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) {
    throw new AuthenticationError("Session token is missing the required 'sub' claim");
  }
  if (typeof email !== 'string' || !EMAIL_PATTERN.test(email) || email.length > 320) {
    throw new AuthenticationError("Session token is missing the required 'email' claim");
  }
  return {
    subject: sub,
    email,
    name: typeof name === 'string' && name.trim() !== '' ? name.trim().slice(0, 255) : null,
    permissions: readPermissions(payload[names.permissionsClaim]),
    isAdmin: payload[names.adminClaim] === true || payload[names.adminClaim] === 'true',
    expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
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

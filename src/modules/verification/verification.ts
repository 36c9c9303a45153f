import type { TokenSnapshot } from '../token/token-snapshot.js';

/** The answer to "may this token be used here, now, for this?", and why not. */
export const OUTCOMES = [
  'VALID',
  'MALFORMED',
  'NOT_FOUND',
  'REVOKED',
  'EXPIRED',
  'IP_NOT_ALLOWED',
  'OUTSIDE_TIME_WINDOW',
  'WRONG_SERVER',
  'INSUFFICIENT_PERMISSIONS',
  'RATE_LIMITED',
  'USAGE_EXCEEDED',
] as const;

export type Outcome = (typeof OUTCOMES)[number];

/** What the resource server knows about the request the token came with. */
export interface VerificationRequest {
  requiredPermissions?: readonly string[] | null;
  serverId?: string | null;
  clientIp?: string | null;
  endpoint?: string | null;
  method?: string | null;
  userAgent?: string | null;
}

export interface Verification {
  valid: boolean;
  outcome: Outcome;
  /** The usage event recorded for this verification; null when no token could be identified. */
  verificationId: string | null;
  /** The token, when the secret identified one (even if it was refused). */
  token: TokenSnapshot | null;
  /** What the token may do now; empty unless valid. */
  permissions: string[];
  /** Uses left before the tightest limit bites; null for a token without limits. */
  remaining: number | null;
  retryAfterSeconds: number | null;
  /** A sentence for logs and usage events: why it was refused. */
  reason: string | null;
}

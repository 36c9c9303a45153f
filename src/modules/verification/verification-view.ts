import { encodeGlobalId } from '../../global-id.js';
import type { Verification } from './verification.js';

/** A verification as callers see it, in GraphQL (TokenVerification) and in POST /v1/verify. */
export interface TokenVerificationView {
  valid: boolean;
  outcome: Verification['outcome'];
  verificationId: string | null;
  tokenId: string | null;
  prefix: string | null;
  name: string | null;
  permissions: string[];
  ownerId: string | null;
  teamId: string | null;
  expiresAt: Date | null;
  remaining: number | null;
  retryAfterSeconds: number | null;
}

export function viewOf(verification: Verification): TokenVerificationView {
  const token = verification.token;
  return {
    valid: verification.valid,
    outcome: verification.outcome,
    verificationId: verification.verificationId,
    tokenId: token ? encodeGlobalId('Token', token.id) : null,
    prefix: token?.prefix ?? null,
    name: token?.name ?? null,
    permissions: verification.permissions,
    ownerId: token ? encodeGlobalId('User', token.owner.id) : null,
    teamId: token?.teamId ? encodeGlobalId('Team', token.teamId) : null,
    expiresAt: token?.expiresAt != null ? new Date(token.expiresAt) : null,
    remaining: verification.remaining,
    retryAfterSeconds: verification.retryAfterSeconds,
  };
}

import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { ConflictError, ValidationError } from '../../errors/errors.js';
import { LIMITS } from './token-fields.js';
import type { Token } from './token.entity.js';
import type { TokenRepository } from './token.repository.js';

/** The checks a token change must pass, and how a database refusal reads to the caller. */

const NAME_INDEX = 'tokens_owner_scope_name_unique';

/**
 * A child never outlives its parent: checked under a lock on the parent's row, inside the mint
 * or change itself, so a concurrent revocation or shortening of the parent cannot slip between.
 */
export async function assertParentStillAllows(repository: TokenRepository, parentId: string, expiresAt: Date | null): Promise<void> {
  const parent = await repository.lockAsParent(parentId);
  if (!parent || parent.revokedAt) throw new ConflictError('The API token minting this one was revoked meanwhile');
  if (parent.expiresAt && (expiresAt === null || expiresAt > parent.expiresAt)) {
    throw ValidationError.forField(
      ['expiresAt'],
      `a child token cannot outlive its parent: the expiry must be no later than ${parent.expiresAt.toISOString()}`,
    );
  }
}

/** Only an active token changes: a revoked or expired one is final. */
export function assertChangeable(token: Token, now: Date): void {
  const status = token.status(now);
  if (status !== 'ACTIVE') {
    throw new ValidationError(`This token is ${status.toLowerCase()} and can no longer be changed`, [
      { path: ['id'], message: `token is ${status.toLowerCase()}` },
    ]);
  }
}

export function nameConflictOr(error: unknown, name: string | undefined, inTeam: boolean): unknown {
  if (error instanceof UniqueConstraintViolationException && error.message.includes(NAME_INDEX)) {
    return new ConflictError(
      `An active token named "${name}" already exists ${inTeam ? 'for this owner in this team' : 'among your personal tokens'}`,
    );
  }
  return error;
}

/** A revocation's reason as recorded: the caller's, trimmed, or the default; at most 500 characters. */
export function revocationReason(reason: string | null | undefined, fallback: string): string {
  const text = reason?.trim() || fallback;
  if (text.length > LIMITS.reasonLength) {
    throw ValidationError.forField(['reason'], `reason must be at most ${LIMITS.reasonLength} characters`);
  }
  return text;
}

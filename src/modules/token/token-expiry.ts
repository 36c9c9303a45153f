/**
 * When a token expires: `expiresInDays` or `expiresAt`, never both, within MAX_TOKEN_LIFETIME_DAYS
 * of `now`. The clock is the caller's, so a rule can be checked against any fixed instant.
 */

const DAY_MS = 86_400_000;

export interface ExpiryPolicy {
  now: Date;
  maxLifetimeDays: number;
  requireExpiry: boolean;
}

export interface ExpiryInput {
  expiresInDays?: number | null;
  expiresAt?: Date | null;
}

/**
 * On mint, neither field is an error while REQUIRE_TOKEN_EXPIRY holds; on update, neither leaves
 * the expiry unchanged and `expiresAt: null` removes it. Returns undefined for "unchanged" (or
 * refused, with the problem reported), null for "never expires".
 */
export function resolveExpiry(
  input: ExpiryInput,
  { now, maxLifetimeDays, requireExpiry }: ExpiryPolicy,
  mode: 'mint' | 'update',
  report: (path: string[], message: string) => void,
): Date | null | undefined {
  const days = input.expiresInDays;
  const at = input.expiresAt;
  const latest = now.getTime() + maxLifetimeDays * DAY_MS;

  if (days != null && at != null) {
    report(['expiresAt'], 'give expiresInDays or expiresAt, not both');
    return undefined;
  }
  if (days != null) {
    if (!Number.isInteger(days) || days < 1 || days > maxLifetimeDays) {
      report(['expiresInDays'], `expiresInDays must be between 1 and ${maxLifetimeDays} (MAX_TOKEN_LIFETIME_DAYS)`);
      return undefined;
    }
    return new Date(now.getTime() + days * DAY_MS);
  }
  if (at != null) {
    if (at.getTime() <= now.getTime()) {
      report(['expiresAt'], 'expiresAt must be in the future');
    } else if (at.getTime() > latest) {
      report(
        ['expiresAt'],
        `expiresAt must be within ${maxLifetimeDays} days from now (MAX_TOKEN_LIFETIME_DAYS)`,
      );
    } else {
      return at;
    }
    return undefined;
  }
  const explicitlyCleared = mode === 'update' && at === null;
  if (mode === 'update' && !explicitlyCleared) return undefined;
  if (requireExpiry) {
    report(
      [mode === 'mint' ? 'expiresInDays' : 'expiresAt'],
      `an expiry is required: give expiresInDays (1-${maxLifetimeDays}) or expiresAt (REQUIRE_TOKEN_EXPIRY is on)`,
    );
    return undefined;
  }
  return null;
}

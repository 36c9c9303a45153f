import type { UsageLimits } from './token.entity.js';

/** The request budgets a caller sets on a token; each is optional, at least one is required. */

export const USAGE_LIMIT_FIELDS = ['requestsPerMinute', 'requestsPerHour', 'requestsPerDay', 'maxTotalRequests'] as const;

export interface UsageLimitsInput {
  requestsPerMinute?: number | null;
  requestsPerHour?: number | null;
  requestsPerDay?: number | null;
  maxTotalRequests?: number | null;
}

/** The limits, absent ones null; null with problems reported. */
export function validateUsageLimits(
  input: UsageLimitsInput,
  report: (path: string[], message: string) => void,
): UsageLimits | null {
  let valid = true;
  const limits: UsageLimits = {
    requestsPerMinute: null,
    requestsPerHour: null,
    requestsPerDay: null,
    maxTotalRequests: null,
  };
  for (const field of USAGE_LIMIT_FIELDS) {
    const value = input[field];
    if (value == null) continue;
    if (!Number.isInteger(value) || value < 1) {
      report(['usageLimits', field], `${field} must be a positive whole number`);
      valid = false;
    } else {
      limits[field] = value;
    }
  }
  if (USAGE_LIMIT_FIELDS.every((field) => input[field] == null)) {
    report(['usageLimits'], 'usageLimits needs at least one limit; use null to remove all limits');
    valid = false;
  }
  return valid ? limits : null;
}

import { isValidPermission } from '../../auth/permissions.js';
import { ValidationError, type FieldProblem } from '../common/errors.js';
import { normalizeRange } from '../common/ip-ranges.js';
import { DAYS_OF_WEEK, type DayOfWeek, type TimeRestrictions, type UsageLimits } from './token.entity.js';

/**
 * Validation and normalisation of what a caller may set on a token. Every rule is checked and
 * every problem reported at once, with its path in the input, so a form can mark each field.
 */

export const LIMITS = {
  nameLength: 64,
  descriptionLength: 500,
  tags: 20,
  tagLength: 32,
  serverIdLength: 128,
  ipRestrictions: 100,
  permissions: 100,
  reasonLength: 500,
} as const;

const DAY_MS = 86_400_000;

export interface TimeRestrictionsInput {
  daysOfWeek?: DayOfWeek[] | null;
  startTime?: string | null;
  endTime?: string | null;
  timeZone?: string | null;
}

export interface UsageLimitsInput {
  requestsPerMinute?: number | null;
  requestsPerHour?: number | null;
  requestsPerDay?: number | null;
  maxTotalRequests?: number | null;
}

/** The settable fields, as GraphQL hands them over: undefined = absent, null = explicitly empty. */
export interface TokenFieldsInput {
  name?: string | null;
  description?: string | null;
  expiresInDays?: number | null;
  expiresAt?: Date | null;
  permissions?: string[] | null;
  serverId?: string | null;
  ipRestrictions?: string[] | null;
  tags?: string[] | null;
  timeRestrictions?: TimeRestrictionsInput | null;
  usageLimits?: UsageLimitsInput | null;
}

/** Validated values; a key is present only when the input set it. */
export interface TokenFields {
  name?: string;
  description?: string | null;
  expiresAt?: Date | null;
  permissions?: string[];
  serverId?: string | null;
  ipRestrictions?: string[];
  tags?: string[];
  timeRestrictions?: TimeRestrictions | null;
  usageLimits?: UsageLimits | null;
}

export interface ExpiryPolicy {
  now: Date;
  maxLifetimeDays: number;
  requireExpiry: boolean;
}

export function validateTokenFields(
  input: TokenFieldsInput,
  policy: ExpiryPolicy,
  mode: 'mint' | 'update',
): TokenFields {
  const problems: FieldProblem[] = [];
  const report = (path: string[], message: string) => problems.push({ path, message });
  const out: TokenFields = {};

  if (mode === 'mint' || input.name != null) {
    const name = (input.name ?? '').trim();
    if (name.length < 1 || name.length > LIMITS.nameLength) {
      report(['name'], `name must be 1-${LIMITS.nameLength} characters after trimming`);
    } else if (/[\p{Cc}]/u.test(name)) {
      report(['name'], 'name must not contain control characters');
    } else {
      out.name = name;
    }
  }

  if (input.description !== undefined) {
    const description = input.description?.trim() ?? '';
    if (description.length > LIMITS.descriptionLength) {
      report(['description'], `description must be at most ${LIMITS.descriptionLength} characters`);
    } else {
      out.description = description === '' ? null : description;
    }
  }

  if (input.permissions != null) {
    if (input.permissions.length > LIMITS.permissions) {
      report(['permissions'], `at most ${LIMITS.permissions} permissions`);
    }
    input.permissions.forEach((permission, index) => {
      if (!isValidPermission(permission)) {
        report(
          ['permissions', String(index)],
          `'${permission}' is not a permission: use "*", "category.action" or "category.*" (lowercase)`,
        );
      }
    });
    out.permissions = [...new Set(input.permissions)];
  }

  if (input.serverId !== undefined) {
    const serverId = input.serverId?.trim() ?? '';
    if (serverId.length > LIMITS.serverIdLength) {
      report(['serverId'], `serverId must be at most ${LIMITS.serverIdLength} characters`);
    } else {
      out.serverId = serverId === '' ? null : serverId;
    }
  }

  if (input.ipRestrictions != null) {
    if (input.ipRestrictions.length > LIMITS.ipRestrictions) {
      report(['ipRestrictions'], `at most ${LIMITS.ipRestrictions} IP restrictions`);
    }
    const normalized: string[] = [];
    input.ipRestrictions.forEach((entry, index) => {
      const value = normalizeRange(entry);
      if (value === null) {
        report(['ipRestrictions', String(index)], `'${entry}' is not an IPv4/IPv6 address or CIDR range`);
      } else {
        normalized.push(value);
      }
    });
    out.ipRestrictions = [...new Set(normalized)];
  }

  if (input.tags != null) {
    const tags = [...new Set(input.tags.map((tag) => tag.trim()))];
    if (tags.length > LIMITS.tags) report(['tags'], `at most ${LIMITS.tags} tags`);
    input.tags.forEach((tag, index) => {
      const trimmed = tag.trim();
      if (trimmed.length < 1 || trimmed.length > LIMITS.tagLength) {
        report(['tags', String(index)], `each tag must be 1-${LIMITS.tagLength} characters`);
      }
    });
    out.tags = tags;
  }

  if (input.timeRestrictions !== undefined) {
    out.timeRestrictions =
      input.timeRestrictions === null ? null : validateTimeRestrictions(input.timeRestrictions, report);
  }

  if (input.usageLimits !== undefined) {
    out.usageLimits = input.usageLimits === null ? null : validateUsageLimits(input.usageLimits, report);
  }

  const expiry = resolveExpiry(input, policy, mode, report);
  if (expiry !== undefined) out.expiresAt = expiry;

  if (problems.length > 0) {
    throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
  }
  return out;
}

/**
 * `expiresInDays` or `expiresAt`, never both, within MAX_TOKEN_LIFETIME_DAYS of now. On mint,
 * neither is an error while REQUIRE_TOKEN_EXPIRY holds; on update, neither leaves it unchanged.
 * Returns undefined for "unchanged".
 */
function resolveExpiry(
  input: TokenFieldsInput,
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

function validateTimeRestrictions(
  input: TimeRestrictionsInput,
  report: (path: string[], message: string) => void,
): TimeRestrictions | null {
  const base = ['timeRestrictions'];
  let valid = true;
  const fail = (field: string, message: string) => {
    report([...base, field], message);
    valid = false;
  };

  const days = input.daysOfWeek == null ? null : [...new Set(input.daysOfWeek)];
  if (days !== null && days.length === 0) fail('daysOfWeek', 'daysOfWeek must name at least one day');
  const orderedDays = days && DAYS_OF_WEEK.filter((day) => days.includes(day));

  const start = input.startTime ?? null;
  const end = input.endTime ?? null;
  if (start !== null && !isClockTime(start)) fail('startTime', 'startTime must be "HH:MM" (00:00-23:59)');
  if (end !== null && !isClockTime(end)) fail('endTime', 'endTime must be "HH:MM" (00:00-23:59)');
  if ((start === null) !== (end === null)) {
    fail(start === null ? 'startTime' : 'endTime', 'give both startTime and endTime, or neither');
  } else if (start !== null && start === end) {
    fail('endTime', 'endTime must differ from startTime');
  }
  if (days === null && start === null && end === null) {
    fail('daysOfWeek', 'timeRestrictions needs daysOfWeek, a startTime/endTime window, or both');
  }

  const timeZone = input.timeZone?.trim() || 'UTC';
  if (!isTimeZone(timeZone)) fail('timeZone', `'${timeZone}' is not an IANA time zone (e.g. Europe/Paris)`);

  return valid ? { daysOfWeek: orderedDays, startTime: start, endTime: end, timeZone } : null;
}

function validateUsageLimits(
  input: UsageLimitsInput,
  report: (path: string[], message: string) => void,
): UsageLimits | null {
  const fields = ['requestsPerMinute', 'requestsPerHour', 'requestsPerDay', 'maxTotalRequests'] as const;
  let valid = true;
  const limits: UsageLimits = {
    requestsPerMinute: null,
    requestsPerHour: null,
    requestsPerDay: null,
    maxTotalRequests: null,
  };
  for (const field of fields) {
    const value = input[field];
    if (value == null) continue;
    if (!Number.isInteger(value) || value < 1) {
      report(['usageLimits', field], `${field} must be a positive whole number`);
      valid = false;
    } else {
      limits[field] = value;
    }
  }
  if (fields.every((field) => input[field] == null)) {
    report(['usageLimits'], 'usageLimits needs at least one limit; use null to remove all limits');
    valid = false;
  }
  return valid ? limits : null;
}

function isClockTime(value: string): boolean {
  return /^([01]\d|2[0-3]):[0-5]\d$/.test(value);
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

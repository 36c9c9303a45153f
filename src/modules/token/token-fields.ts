import { isValidPermission } from '../../auth/permissions.js';
import { ValidationError, type FieldProblem } from '../../errors/errors.js';
import { normalizeRange } from '../common/ip-ranges.js';
import type { TimeRestrictions, UsageLimits } from './token.entity.js';
import { resolveExpiry, type ExpiryPolicy } from './token-expiry.js';
import { validateTimeRestrictions, type TimeRestrictionsInput } from './time-restrictions.js';
import { validateUsageLimits, type UsageLimitsInput } from './usage-limits.js';

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

type Report = (path: string[], message: string) => void;

export function validateTokenFields(
  input: TokenFieldsInput,
  policy: ExpiryPolicy,
  mode: 'mint' | 'update',
): TokenFields {
  const problems: FieldProblem[] = [];
  const report: Report = (path, message) => problems.push({ path, message });
  const out: TokenFields = {};

  if (mode === 'mint' || input.name != null) {
    const name = validName(input.name ?? '', report);
    if (name !== null) out.name = name;
  }
  if (input.description !== undefined) {
    const description = optionalText(input.description, 'description', LIMITS.descriptionLength, report);
    if (description !== undefined) out.description = description;
  }
  if (input.permissions != null) out.permissions = validPermissions(input.permissions, report);
  if (input.serverId !== undefined) {
    const serverId = optionalText(input.serverId, 'serverId', LIMITS.serverIdLength, report);
    if (serverId !== undefined) out.serverId = serverId;
  }
  if (input.ipRestrictions != null) out.ipRestrictions = validIpRestrictions(input.ipRestrictions, report);
  if (input.tags != null) out.tags = validTags(input.tags, report);
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

function validName(value: string, report: Report): string | null {
  const name = value.trim();
  if (name.length < 1 || name.length > LIMITS.nameLength) {
    report(['name'], `name must be 1-${LIMITS.nameLength} characters after trimming`);
  } else if (/[\p{Cc}]/u.test(name)) {
    report(['name'], 'name must not contain control characters');
  } else {
    return name;
  }
  return null;
}

/** Trimmed text, null when empty; undefined when too long (reported). */
function optionalText(value: string | null, field: string, max: number, report: Report): string | null | undefined {
  const text = value?.trim() ?? '';
  if (text.length > max) {
    report([field], `${field} must be at most ${max} characters`);
    return undefined;
  }
  return text === '' ? null : text;
}

function validPermissions(permissions: string[], report: Report): string[] {
  if (permissions.length > LIMITS.permissions) {
    report(['permissions'], `at most ${LIMITS.permissions} permissions`);
  }
  permissions.forEach((permission, index) => {
    if (!isValidPermission(permission)) {
      report(
        ['permissions', String(index)],
        `'${permission}' is not a permission: use "*", "category.action" or "category.*" (lowercase)`,
      );
    }
  });
  return [...new Set(permissions)];
}

function validIpRestrictions(entries: string[], report: Report): string[] {
  if (entries.length > LIMITS.ipRestrictions) {
    report(['ipRestrictions'], `at most ${LIMITS.ipRestrictions} IP restrictions`);
  }
  const normalized: string[] = [];
  entries.forEach((entry, index) => {
    const value = normalizeRange(entry);
    if (value === null) {
      report(['ipRestrictions', String(index)], `'${entry}' is not an IPv4/IPv6 address or CIDR range`);
    } else {
      normalized.push(value);
    }
  });
  return [...new Set(normalized)];
}

function validTags(input: string[], report: Report): string[] {
  const tags = [...new Set(input.map((tag) => tag.trim()))];
  if (tags.length > LIMITS.tags) report(['tags'], `at most ${LIMITS.tags} tags`);
  input.forEach((tag, index) => {
    const trimmed = tag.trim();
    if (trimmed.length < 1 || trimmed.length > LIMITS.tagLength) {
      report(['tags', String(index)], `each tag must be 1-${LIMITS.tagLength} characters`);
    }
  });
  return tags;
}

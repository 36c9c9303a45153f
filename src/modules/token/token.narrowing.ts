import type { FieldProblem } from '../../errors/errors.js';
import { parseRange, rangeWithin } from '../common/ip-ranges.js';
import type { TimeRestrictions, Token } from './token.entity.js';
import type { TokenFields } from './token-fields.js';
import { USAGE_LIMIT_FIELDS } from './usage-limits.js';
import { grants } from '../../auth/permissions.js';

/**
 * An update made with an API token may only narrow what the token can do: permissions a subset,
 * restrictions kept or tightened, expiry no later. Otherwise a leaked token could widen itself
 * (or its children). Returns what would widen, empty when the change only narrows.
 */
export function narrowingProblems(token: Token, fields: TokenFields): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const widen = (path: string[], message: string) => problems.push({ path, message: `an API token may only narrow: ${message}` });

  if (fields.permissions) {
    if (fields.permissions.length === 0 && token.permissions.length > 0) {
      widen(['permissions'], 'an empty list would inherit more than the current list');
    }
    if (token.permissions.length > 0) {
      fields.permissions.forEach((permission, index) => {
        if (!grants(token.permissions, permission)) widen(['permissions', String(index)], `'${permission}' is not in the current list`);
      });
    }
  }

  if (fields.ipRestrictions && token.ipRestrictions.length > 0) {
    if (fields.ipRestrictions.length === 0) widen(['ipRestrictions'], 'removing the IP restrictions');
    fields.ipRestrictions.forEach((entry, index) => {
      if (!token.ipRestrictions.some((current) => withinRange(entry, current))) {
        widen(['ipRestrictions', String(index)], `'${entry}' is not inside the current ranges`);
      }
    });
  }

  if (fields.serverId !== undefined && token.serverId !== null && fields.serverId !== token.serverId) {
    widen(['serverId'], 'the token stays bound to its server');
  }

  if (fields.timeRestrictions !== undefined && token.timeRestrictions !== null) {
    if (!fields.timeRestrictions || !windowWithin(fields.timeRestrictions, token.timeRestrictions)) {
      widen(['timeRestrictions'], 'the new window must lie inside the current one');
    }
  }

  if (fields.usageLimits !== undefined && token.usageLimits !== null) {
    const next = fields.usageLimits;
    for (const limit of USAGE_LIMIT_FIELDS) {
      const current = token.usageLimits[limit];
      if (current === null) continue;
      const proposed: number | null = next ? next[limit] : null;
      if (proposed === null || proposed > current) widen(['usageLimits', limit], `${limit} may only go down (now ${current})`);
    }
  }

  if (fields.expiresAt !== undefined && token.expiresAt !== null) {
    if (fields.expiresAt === null || fields.expiresAt > token.expiresAt) widen(['expiresAt'], 'the expiry may only come sooner');
  }
  return problems;
}

/** Unparseable text on either side is never within: the check fails closed. */
function withinRange(entry: string, container: string): boolean {
  const inner = parseRange(entry);
  const outer = parseRange(container);
  return inner !== null && outer !== null && rangeWithin(inner, outer);
}

/** Conservative: the same zone, days a subset, and the same or a narrower same-day window. */
function windowWithin(next: TimeRestrictions, current: TimeRestrictions): boolean {
  if (next.timeZone !== current.timeZone) return false;
  if (current.daysOfWeek && (!next.daysOfWeek || !next.daysOfWeek.every((d) => current.daysOfWeek!.includes(d)))) return false;
  if (current.startTime === null) return true;
  if (next.startTime === null || next.endTime === null || current.endTime === null) return false;
  if (next.startTime === current.startTime && next.endTime === current.endTime) return true;
  // Only plain same-day windows are compared by range; anything else must stay as it is.
  const sameDay = (r: { startTime: string; endTime: string }) => r.startTime < r.endTime;
  const n = { startTime: next.startTime, endTime: next.endTime };
  const c = { startTime: current.startTime, endTime: current.endTime };
  return sameDay(n) && sameDay(c) && n.startTime >= c.startTime && n.endTime <= c.endTime;
}

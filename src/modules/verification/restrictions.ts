import { parseAddress, parseRange, rangeContains, type IpRange } from '../common/ip-ranges.js';
import { DAYS_OF_WEEK, type DayOfWeek, type TimeRestrictions } from '../token/token.entity.js';

/**
 * The restrictions a token carries, as pure functions of the request and the time. Both fail
 * closed: an address that cannot be parsed is outside every range.
 */

// Every verification of an IP-restricted token reads its ranges again; most tokens share few.
const rangeCache = new Map<string, IpRange | null>();

function rangeOf(entry: string): IpRange | null {
  let range = rangeCache.get(entry);
  if (range === undefined) {
    range = parseRange(entry);
    if (rangeCache.size > 10_000) rangeCache.clear();
    rangeCache.set(entry, range);
  }
  return range;
}

/** Whether the client address lies in one of the ranges (single addresses count as /32, /128). */
export function ipAllowed(ranges: readonly string[], clientIp: string | null | undefined): boolean {
  const client = parseAddress(clientIp);
  if (!client) return false;
  return ranges.some((entry) => {
    const range = rangeOf(entry);
    return range !== null && rangeContains(range, client);
  });
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(now: Date, timeZone: string): { day: DayOfWeek; minutes: number } {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'long',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  let weekday = '';
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(now)) {
    if (part.type === 'weekday') weekday = part.value.toUpperCase();
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day: weekday as DayOfWeek, minutes: hour * 60 + minute };
}

function toMinutes(clock: string): number {
  return Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
}

function previousDay(day: DayOfWeek): DayOfWeek {
  return DAYS_OF_WEEK[(DAYS_OF_WEEK.indexOf(day) + 6) % 7]!;
}

/**
 * Whether `now` falls inside the token's window, read on the wall clock of its time zone. A
 * window that crosses midnight (22:00-06:00) belongs to the day it starts on: with FRIDAY only,
 * Saturday 02:00 is inside and Friday 02:00 is not. The end minute is excluded.
 */
export function withinTimeWindow(restrictions: TimeRestrictions, now: Date): boolean {
  let clock: { day: DayOfWeek; minutes: number };
  try {
    clock = wallClock(now, restrictions.timeZone);
  } catch {
    return false;
  }
  let day = clock.day;
  if (restrictions.startTime !== null && restrictions.endTime !== null) {
    const start = toMinutes(restrictions.startTime);
    const end = toMinutes(restrictions.endTime);
    if (start < end) {
      if (clock.minutes < start || clock.minutes >= end) return false;
    } else {
      const lateEvening = clock.minutes >= start;
      const earlyMorning = clock.minutes < end;
      if (!lateEvening && !earlyMorning) return false;
      if (earlyMorning) day = previousDay(day);
    }
  }
  return restrictions.daysOfWeek === null || restrictions.daysOfWeek.includes(day);
}

import { DAYS_OF_WEEK, type DayOfWeek, type TimeRestrictions } from './token.entity.js';

/** The window a caller sets on a token: which days, which wall-clock hours, in which time zone. */

export interface TimeRestrictionsInput {
  daysOfWeek?: DayOfWeek[] | null;
  startTime?: string | null;
  endTime?: string | null;
  timeZone?: string | null;
}

/** The window, days in week order and the zone defaulting to UTC; null with problems reported. */
export function validateTimeRestrictions(
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

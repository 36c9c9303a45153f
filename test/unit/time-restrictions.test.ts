import { describe, expect, it } from 'vitest';
import { accepted, problems, refusedPaths } from '../support/token-fields.js';

const windowOf = (timeRestrictions: Parameters<typeof accepted>[0]['timeRestrictions']) => accepted({ timeRestrictions }).timeRestrictions;

describe('validateTokenFields: time windows', () => {
  it('keeps days in week order, once, with hours and a zone defaulting to UTC', () => {
    expect(windowOf({ daysOfWeek: ['FRIDAY', 'MONDAY', 'FRIDAY'] })).toEqual({ daysOfWeek: ['MONDAY', 'FRIDAY'], startTime: null, endTime: null, timeZone: 'UTC' });
    expect(windowOf({ startTime: '22:00', endTime: '06:00', timeZone: ' Europe/Paris ' })).toEqual({
      daysOfWeek: null,
      startTime: '22:00',
      endTime: '06:00',
      timeZone: 'Europe/Paris',
    });
    expect(windowOf({ startTime: '00:00', endTime: '23:59', timeZone: '' })?.timeZone).toBe('UTC');
    expect(windowOf(null)).toBeNull();
  });

  it('needs days, hours or both', () => {
    expect(problems({ timeRestrictions: {} })).toEqual([
      { path: ['timeRestrictions', 'daysOfWeek'], message: 'timeRestrictions needs daysOfWeek, a startTime/endTime window, or both' },
    ]);
    expect(refusedPaths({ timeRestrictions: { daysOfWeek: [] } })).toEqual(['timeRestrictions.daysOfWeek']);
  });

  it.each(['24:00', '23:60', '9:00', '09:00:00', '-1:00', '', '09h00', '０９:００'])('refuses the clock time %j', (time) => {
    expect(problems({ timeRestrictions: { startTime: time, endTime: '12:00' } })).toContainEqual({
      path: ['timeRestrictions', 'startTime'],
      message: 'startTime must be "HH:MM" (00:00-23:59)',
    });
  });

  it('needs both ends of the window, and two different ones', () => {
    expect(problems({ timeRestrictions: { startTime: '09:00' } })).toEqual([
      { path: ['timeRestrictions', 'endTime'], message: 'give both startTime and endTime, or neither' },
    ]);
    expect(refusedPaths({ timeRestrictions: { endTime: '09:00' } })).toEqual(['timeRestrictions.startTime']);
    expect(problems({ timeRestrictions: { startTime: '09:00', endTime: '09:00' } })).toEqual([
      { path: ['timeRestrictions', 'endTime'], message: 'endTime must differ from startTime' },
    ]);
  });

  it.each(['America/New_York', 'Asia/Kolkata', 'Etc/GMT+5', 'UTC'])('accepts the IANA zone %s', (timeZone) => {
    expect(windowOf({ daysOfWeek: ['MONDAY'], timeZone })?.timeZone).toBe(timeZone);
  });

  it.each(['Mars/Olympus', 'Europe/Pari', 'GMT+25', 'Europe/Paris\u0000', '../../etc/passwd', 'x'.repeat(10_000)])('refuses the zone %j', (timeZone) => {
    const [problem] = problems({ timeRestrictions: { daysOfWeek: ['MONDAY'], timeZone } });
    expect(problem).toEqual({ path: ['timeRestrictions', 'timeZone'], message: `'${timeZone}' is not an IANA time zone (e.g. Europe/Paris)` });
  });
});

import { describe, expect, it } from 'vitest';
import { ipAllowed, withinTimeWindow } from '../../src/modules/verification/restrictions.js';
import type { TimeRestrictions } from '../../src/modules/token/token.entity.js';

describe('ipAllowed', () => {
  it('matches IPv4 addresses and CIDR ranges', () => {
    expect(ipAllowed(['10.0.0.0/8'], '10.20.30.40')).toBe(true);
    expect(ipAllowed(['10.0.0.0/8'], '11.0.0.1')).toBe(false);
    expect(ipAllowed(['192.168.1.7'], '192.168.1.7')).toBe(true);
    expect(ipAllowed(['192.168.1.7'], '192.168.1.8')).toBe(false);
    expect(ipAllowed(['0.0.0.0/0'], '8.8.8.8')).toBe(true);
  });

  it('matches IPv6 addresses and ranges', () => {
    expect(ipAllowed(['2001:db8::/32'], '2001:db8:1::5')).toBe(true);
    expect(ipAllowed(['2001:db8::/32'], '2001:db9::5')).toBe(false);
    expect(ipAllowed(['::1'], '::1')).toBe(true);
    expect(ipAllowed(['2001:db8::/32'], '[2001:db8::1]')).toBe(true);
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address it carries, on either side', () => {
    expect(ipAllowed(['10.0.0.0/8'], '::ffff:10.1.2.3')).toBe(true);
    expect(ipAllowed(['::ffff:10.0.0.0/104'], '10.1.2.3')).toBe(true);
    expect(ipAllowed(['::ffff:10.0.0.0/104'], '11.1.2.3')).toBe(false);
    expect(ipAllowed(['10.0.0.0/8'], '::ffff:11.1.2.3')).toBe(false);
  });

  it('fails closed on missing or unparseable addresses and across families', () => {
    expect(ipAllowed(['10.0.0.0/8'], null)).toBe(false);
    expect(ipAllowed(['10.0.0.0/8'], '')).toBe(false);
    expect(ipAllowed(['10.0.0.0/8'], 'not-an-ip')).toBe(false);
    expect(ipAllowed(['10.0.0.0/8'], '10.1')).toBe(false);
    expect(ipAllowed(['2001:db8::/32'], '10.0.0.1')).toBe(false);
  });
});

describe('withinTimeWindow', () => {
  const window = (r: Partial<TimeRestrictions>): TimeRestrictions => ({
    daysOfWeek: null,
    startTime: null,
    endTime: null,
    timeZone: 'UTC',
    ...r,
  });

  it('checks a same-day window, end excluded', () => {
    const office = window({ startTime: '09:00', endTime: '17:00' });
    expect(withinTimeWindow(office, new Date('2026-11-18T08:59:00Z'))).toBe(false);
    expect(withinTimeWindow(office, new Date('2026-11-18T09:00:00Z'))).toBe(true);
    expect(withinTimeWindow(office, new Date('2026-11-18T16:59:59Z'))).toBe(true);
    expect(withinTimeWindow(office, new Date('2026-11-18T17:00:00Z'))).toBe(false);
  });

  it('reads the wall clock of the IANA time zone, daylight saving included', () => {
    const paris = window({ startTime: '09:00', endTime: '17:00', timeZone: 'Europe/Paris' });
    // Winter: UTC+1. 08:30Z is 09:30 in Paris.
    expect(withinTimeWindow(paris, new Date('2026-11-18T08:30:00Z'))).toBe(true);
    expect(withinTimeWindow(paris, new Date('2026-11-18T16:30:00Z'))).toBe(false);
    // Summer: UTC+2. 07:30Z is 09:30 in Paris.
    expect(withinTimeWindow(paris, new Date('2026-07-15T07:30:00Z'))).toBe(true);
    expect(withinTimeWindow(paris, new Date('2026-07-15T15:30:00Z'))).toBe(false);
  });

  it('handles a window that crosses midnight, belonging to the day it starts', () => {
    // 2026-11-20 is a Friday.
    const fridayNight = window({ daysOfWeek: ['FRIDAY'], startTime: '22:00', endTime: '06:00' });
    expect(withinTimeWindow(fridayNight, new Date('2026-11-20T23:30:00Z'))).toBe(true); // Friday 23:30
    expect(withinTimeWindow(fridayNight, new Date('2026-11-21T02:00:00Z'))).toBe(true); // Saturday 02:00, Friday's night
    expect(withinTimeWindow(fridayNight, new Date('2026-11-21T06:00:00Z'))).toBe(false); // end excluded
    expect(withinTimeWindow(fridayNight, new Date('2026-11-20T02:00:00Z'))).toBe(false); // Thursday's night
    expect(withinTimeWindow(fridayNight, new Date('2026-11-20T12:00:00Z'))).toBe(false); // Friday noon
  });

  it('checks days alone, in the zone', () => {
    const weekdays = window({ daysOfWeek: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], timeZone: 'Asia/Tokyo' });
    // Friday 2026-11-20 20:00Z is Saturday 05:00 in Tokyo.
    expect(withinTimeWindow(weekdays, new Date('2026-11-20T20:00:00Z'))).toBe(false);
    expect(withinTimeWindow(weekdays, new Date('2026-11-20T10:00:00Z'))).toBe(true);
  });

  it('fails closed on an unknown time zone', () => {
    expect(withinTimeWindow(window({ daysOfWeek: ['MONDAY'], timeZone: 'Mars/Olympus' }), new Date())).toBe(false);
  });
});

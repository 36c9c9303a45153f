import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Token, type TimeRestrictions, type UsageLimits } from '../../src/modules/token/token.entity.js';
import type { TokenFields } from '../../src/modules/token/token-fields.js';
import { narrowingProblems } from '../../src/modules/token/token.narrowing.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400_000;

const token = (fields: Partial<Token> = {}): Token => Object.assign(new Token(), fields);
/** The paths of what the change would widen; empty when it only narrows. */
const widened = (current: Partial<Token>, change: TokenFields) => narrowingProblems(token(current), change).map((p) => p.path.join('.'));

const window = (w: Partial<TimeRestrictions>): TimeRestrictions => ({ daysOfWeek: null, startTime: null, endTime: null, timeZone: 'UTC', ...w });
const limits = (l: Partial<UsageLimits>): UsageLimits => ({ requestsPerMinute: null, requestsPerHour: null, requestsPerDay: null, maxTotalRequests: null, ...l });

describe('narrowingProblems', () => {
  it('an empty change, or one that sets nothing restrictive, widens nothing', () => {
    const current = { permissions: ['tools.read'], ipRestrictions: ['10.0.0.0/8'], serverId: 'mcp', expiresAt: new Date(NOW.getTime() + DAY) };
    expect(widened(current, {})).toEqual([]);
    expect(widened(current, { name: 'renamed', description: null, tags: ['x'] })).toEqual([]);
  });

  it('says why, prefixed so that the caller knows the rule', () => {
    const [problem] = narrowingProblems(token({ permissions: ['tools.read'] }), { permissions: ['tools.write'] });
    expect(problem).toEqual({ path: ['permissions', '0'], message: "an API token may only narrow: 'tools.write' is not in the current list" });
  });

  describe('permissions', () => {
    it('may become a subset, also of what a wildcard covers', () => {
      expect(widened({ permissions: ['tools.*', 'files.read'] }, { permissions: ['tools.read', 'files.read'] })).toEqual([]);
      expect(widened({ permissions: ['*'] }, { permissions: ['anything.at_all'] })).toEqual([]);
    });
    it('may not gain a permission or a wider wildcard', () => {
      expect(widened({ permissions: ['tools.read'] }, { permissions: ['tools.read', 'files.read'] })).toEqual(['permissions.1']);
      expect(widened({ permissions: ['tools.read'] }, { permissions: ['tools.*'] })).toEqual(['permissions.0']);
      expect(widened({ permissions: ['tools.*'] }, { permissions: ['*'] })).toEqual(['permissions.0']);
    });
    it('may not become empty, which would inherit everything the owner holds', () => {
      expect(widened({ permissions: ['tools.read'] }, { permissions: [] })).toEqual(['permissions']);
    });
    it('are free while the token inherits its owner’s (an empty list)', () => {
      expect(widened({ permissions: [] }, { permissions: ['*'] })).toEqual([]);
    });
  });

  describe('ipRestrictions', () => {
    it('may move inside the current ranges', () => {
      expect(widened({ ipRestrictions: ['10.0.0.0/8'] }, { ipRestrictions: ['10.1.0.0/16', '10.2.3.4'] })).toEqual([]);
      expect(widened({ ipRestrictions: ['10.0.0.0/8', '2001:db8::/32'] }, { ipRestrictions: ['2001:db8:1::/48'] })).toEqual([]);
    });
    it('may not leave them, widen them, or be removed', () => {
      expect(widened({ ipRestrictions: ['10.0.0.0/8'] }, { ipRestrictions: ['10.1.0.0/16', '192.168.0.0/16'] })).toEqual(['ipRestrictions.1']);
      expect(widened({ ipRestrictions: ['10.1.0.0/16'] }, { ipRestrictions: ['10.0.0.0/8'] })).toEqual(['ipRestrictions.0']);
      expect(widened({ ipRestrictions: ['10.0.0.0/8'] }, { ipRestrictions: [] })).toEqual(['ipRestrictions']);
    });
    it('compare IPv4-mapped IPv6 as the IPv4 it carries, as verification does', () => {
      expect(widened({ ipRestrictions: ['10.0.0.0/8'] }, { ipRestrictions: ['::ffff:a01:0/112'] })).toEqual([]);
      // ::/0 admits no IPv4 client; ::ffff:10.0.0.0/104 admits 10.0.0.0/8.
      expect(widened({ ipRestrictions: ['::/0'] }, { ipRestrictions: ['::ffff:a00:0/104'] })).toEqual(['ipRestrictions.0']);
    });
    it('fail closed on a stored range that no longer parses', () => {
      expect(widened({ ipRestrictions: ['fe80::1%eth0'] }, { ipRestrictions: ['fe80::1'] })).toEqual(['ipRestrictions.0']);
    });
    it('are free while the token has none', () => {
      expect(widened({ ipRestrictions: [] }, { ipRestrictions: ['0.0.0.0/0'] })).toEqual([]);
    });
  });

  describe('serverId', () => {
    it('a bound token stays bound to its server', () => {
      expect(widened({ serverId: 'mcp' }, { serverId: 'mcp' })).toEqual([]);
      expect(widened({ serverId: 'mcp' }, { serverId: 'other' })).toEqual(['serverId']);
      expect(widened({ serverId: 'mcp' }, { serverId: null })).toEqual(['serverId']);
    });
    it('an unbound token may be bound', () => {
      expect(widened({ serverId: null }, { serverId: 'mcp' })).toEqual([]);
    });
  });

  describe('timeRestrictions', () => {
    const office = window({ daysOfWeek: ['MONDAY', 'FRIDAY'], startTime: '08:00', endTime: '20:00', timeZone: 'Europe/Paris' });
    it('may keep or tighten the days and the window, in the same zone', () => {
      expect(widened({ timeRestrictions: office }, { timeRestrictions: office })).toEqual([]);
      expect(widened({ timeRestrictions: office }, { timeRestrictions: { ...office, daysOfWeek: ['MONDAY'], startTime: '09:00', endTime: '17:00' } })).toEqual([]);
    });
    it.each([
      ['remove the window', null],
      ['add a day', { ...office, daysOfWeek: ['MONDAY', 'FRIDAY', 'SUNDAY'] }],
      ['drop the day list', { ...office, daysOfWeek: null }],
      ['start earlier', { ...office, startTime: '07:59' }],
      ['end later', { ...office, endTime: '20:01' }],
      ['drop the hours', { ...office, startTime: null, endTime: null }],
      ['change the zone', { ...office, timeZone: 'UTC' }],
      ['cross midnight', { ...office, startTime: '19:00', endTime: '09:00' }],
    ] as const)('may not %s', (_label, next) => {
      expect(widened({ timeRestrictions: office }, { timeRestrictions: next as TimeRestrictions | null })).toEqual(['timeRestrictions']);
    });
    it('a window across midnight may only stay as it is', () => {
      const night = window({ startTime: '22:00', endTime: '06:00' });
      expect(widened({ timeRestrictions: night }, { timeRestrictions: night })).toEqual([]);
      expect(widened({ timeRestrictions: night }, { timeRestrictions: window({ startTime: '23:00', endTime: '05:00' }) })).toEqual(['timeRestrictions']);
    });
    it('days alone may gain hours', () => {
      const weekdays = window({ daysOfWeek: ['MONDAY', 'TUESDAY'] });
      expect(widened({ timeRestrictions: weekdays }, { timeRestrictions: { ...weekdays, startTime: '09:00', endTime: '17:00' } })).toEqual([]);
    });
    it('are free while the token has none', () => {
      expect(widened({ timeRestrictions: null }, { timeRestrictions: null })).toEqual([]);
    });
  });

  describe('usageLimits', () => {
    const current = limits({ requestsPerMinute: 100, maxTotalRequests: 1000 });
    it('each limit may go down, and new limits may be added', () => {
      expect(widened({ usageLimits: current }, { usageLimits: limits({ requestsPerMinute: 100, maxTotalRequests: 10, requestsPerDay: 5 }) })).toEqual([]);
    });
    it('a limit may not go up or go away, and each is named', () => {
      expect(widened({ usageLimits: current }, { usageLimits: limits({ requestsPerMinute: 101, maxTotalRequests: 1000 }) })).toEqual(['usageLimits.requestsPerMinute']);
      expect(widened({ usageLimits: current }, { usageLimits: limits({ requestsPerMinute: 50 }) })).toEqual(['usageLimits.maxTotalRequests']);
      expect(widened({ usageLimits: current }, { usageLimits: null })).toEqual(['usageLimits.requestsPerMinute', 'usageLimits.maxTotalRequests']);
    });
    it('are free while the token has none', () => {
      expect(widened({ usageLimits: null }, { usageLimits: null })).toEqual([]);
    });
  });

  describe('expiresAt', () => {
    const expiresAt = new Date(NOW.getTime() + 10 * DAY);
    it('may come sooner or stay', () => {
      expect(widened({ expiresAt }, { expiresAt: new Date(NOW.getTime() + DAY) })).toEqual([]);
      expect(widened({ expiresAt }, { expiresAt: new Date(expiresAt) })).toEqual([]);
    });
    it('may not come later or be removed', () => {
      expect(widened({ expiresAt }, { expiresAt: new Date(expiresAt.getTime() + 1) })).toEqual(['expiresAt']);
      expect(widened({ expiresAt }, { expiresAt: null })).toEqual(['expiresAt']);
    });
    it('a token that never expires may be given an expiry', () => {
      expect(widened({ expiresAt: null }, { expiresAt })).toEqual([]);
    });
  });

  it('a usage limit change narrows exactly when no limit goes up or away', () => {
    const limit = fc.option(fc.integer({ min: 1, max: 5 }), { nil: null });
    const budget = fc.record({ requestsPerMinute: limit, requestsPerHour: limit, requestsPerDay: limit, maxTotalRequests: limit });
    fc.assert(
      fc.property(budget, budget, (current, next) => {
        const loosened = (Object.keys(current) as (keyof UsageLimits)[]).filter(
          (k) => current[k] !== null && (next[k] === null || next[k] > current[k]),
        );
        expect(widened({ usageLimits: current }, { usageLimits: next })).toEqual(loosened.map((k) => `usageLimits.${k}`));
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accepted, DAY, NOW, problems, refusedPaths } from '../support/token-fields.js';

const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

describe('expiry against a fixed clock', () => {
  it('expiresInDays counts whole days from now', () => {
    expect(accepted({ name: 'x', expiresInDays: 7 }, 'mint', { requireExpiry: true }).expiresAt).toEqual(at(7 * DAY));
    expect(accepted({ expiresInDays: 365 }).expiresAt).toEqual(at(365 * DAY));
  });

  it.each([0, -1, 366, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses expiresInDays %s', (days) => {
    expect(problems({ expiresInDays: days })).toEqual([
      { path: ['expiresInDays'], message: 'expiresInDays must be between 1 and 365 (MAX_TOKEN_LIFETIME_DAYS)' },
    ]);
  });

  it('follows maxLifetimeDays', () => {
    expect(accepted({ expiresInDays: 30 }, 'update', { maxLifetimeDays: 30 }).expiresAt).toEqual(at(30 * DAY));
    expect(problems({ expiresInDays: 31 }, 'update', { maxLifetimeDays: 30 })[0]!.message).toContain('between 1 and 30');
    expect(problems({ expiresAt: at(30 * DAY + 1) }, 'update', { maxLifetimeDays: 30 })[0]!.message).toBe(
      'expiresAt must be within 30 days from now (MAX_TOKEN_LIFETIME_DAYS)',
    );
  });

  it('expiresAt lies after now and no later than the lifetime allows', () => {
    expect(accepted({ expiresAt: at(1) }).expiresAt).toEqual(at(1));
    expect(accepted({ expiresAt: at(365 * DAY) }).expiresAt).toEqual(at(365 * DAY));
    expect(problems({ expiresAt: NOW })).toEqual([{ path: ['expiresAt'], message: 'expiresAt must be in the future' }]);
    expect(problems({ expiresAt: at(-DAY) })[0]!.message).toBe('expiresAt must be in the future');
    expect(refusedPaths({ expiresAt: at(365 * DAY + 1) })).toEqual(['expiresAt']);
  });

  it('expiresAt is accepted exactly between now (excluded) and now + the lifetime (included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2 * DAY, max: 32 * DAY }), fc.integer({ min: 1, max: 30 }), (offset, maxLifetimeDays) => {
        const inRange = offset > 0 && offset <= maxLifetimeDays * DAY;
        let ok = true;
        try {
          accepted({ expiresAt: at(offset) }, 'update', { maxLifetimeDays });
        } catch {
          ok = false;
        }
        expect(ok).toBe(inRange);
      }),
    );
  });

  it('never both', () => {
    expect(problems({ expiresInDays: 5, expiresAt: at(DAY) })).toEqual([
      { path: ['expiresAt'], message: 'give expiresInDays or expiresAt, not both' },
    ]);
  });
});

describe('requireExpiry', () => {
  it('a mint without an expiry is refused while it holds, and never expires otherwise', () => {
    expect(problems({ name: 'x' }, 'mint', { requireExpiry: true })).toEqual([
      {
        path: ['expiresInDays'],
        message: 'an expiry is required: give expiresInDays (1-365) or expiresAt (REQUIRE_TOKEN_EXPIRY is on)',
      },
    ]);
    expect(accepted({ name: 'x' }, 'mint', { requireExpiry: false }).expiresAt).toBeNull();
    expect(accepted({ name: 'x', expiresAt: null, expiresInDays: null }, 'mint').expiresAt).toBeNull();
  });

  it('an update without expiry fields leaves the expiry alone, whatever the policy', () => {
    expect(accepted({ name: 'x' }, 'update', { requireExpiry: true })).not.toHaveProperty('expiresAt');
    expect(accepted({ expiresInDays: null }, 'update', { requireExpiry: true })).not.toHaveProperty('expiresAt');
  });

  it('an update may remove the expiry only while it does not hold', () => {
    expect(refusedPaths({ expiresAt: null }, 'update', { requireExpiry: true })).toEqual(['expiresAt']);
    expect(accepted({ expiresAt: null }, 'update', { requireExpiry: false }).expiresAt).toBeNull();
  });
});

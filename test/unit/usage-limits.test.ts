import { describe, expect, it } from 'vitest';
import { accepted, problems, refusedPaths } from '../support/token-fields.js';

describe('validateTokenFields: usage limits', () => {
  it('keeps the limits given and sets the others to null', () => {
    expect(accepted({ usageLimits: { requestsPerMinute: 10, maxTotalRequests: 1000 } }).usageLimits).toEqual({
      requestsPerMinute: 10,
      requestsPerHour: null,
      requestsPerDay: null,
      maxTotalRequests: 1000,
    });
    expect(accepted({ usageLimits: { requestsPerDay: 1, requestsPerHour: null } }).usageLimits?.requestsPerDay).toBe(1);
    expect(accepted({ usageLimits: null }).usageLimits).toBeNull();
  });

  it('needs at least one limit', () => {
    const message = 'usageLimits needs at least one limit; use null to remove all limits';
    expect(problems({ usageLimits: {} })).toEqual([{ path: ['usageLimits'], message }]);
    expect(problems({ usageLimits: { requestsPerMinute: null, maxTotalRequests: null } })).toEqual([{ path: ['usageLimits'], message }]);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s as a limit, naming the field', (value) => {
    expect(problems({ usageLimits: { requestsPerHour: value } })).toEqual([
      { path: ['usageLimits', 'requestsPerHour'], message: 'requestsPerHour must be a positive whole number' },
    ]);
  });

  it('names every bad limit', () => {
    expect(refusedPaths({ usageLimits: { requestsPerMinute: 0, requestsPerHour: 5, requestsPerDay: -3, maxTotalRequests: 0.5 } })).toEqual([
      'usageLimits.requestsPerMinute',
      'usageLimits.requestsPerDay',
      'usageLimits.maxTotalRequests',
    ]);
  });
});

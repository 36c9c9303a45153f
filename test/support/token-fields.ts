import { ValidationError, type FieldProblem } from '../../src/errors/errors.js';
import { validateTokenFields, type TokenFields, type TokenFieldsInput } from '../../src/modules/token/token-fields.js';
import type { ExpiryPolicy } from '../../src/modules/token/token-expiry.js';

/** The clock of every validation test: rules are checked against this instant, never the real one. */
export const NOW = new Date('2026-06-01T12:00:00Z');
export const DAY = 86_400_000;

export const policy = (overrides: Partial<ExpiryPolicy> = {}): ExpiryPolicy => ({
  now: NOW,
  maxLifetimeDays: 365,
  requireExpiry: false,
  ...overrides,
});

/** Validates as an update by default: only the fields given are checked. */
export function accepted(input: TokenFieldsInput, mode: 'mint' | 'update' = 'update', overrides: Partial<ExpiryPolicy> = {}): TokenFields {
  return validateTokenFields(input, policy(overrides), mode);
}

/** The problems of an input that must be refused; fails the test if it is accepted. */
export function problems(input: TokenFieldsInput, mode: 'mint' | 'update' = 'update', overrides: Partial<ExpiryPolicy> = {}): FieldProblem[] {
  try {
    validateTokenFields(input, policy(overrides), mode);
  } catch (error) {
    if (error instanceof ValidationError) return error.fieldErrors;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

/** The refused paths, dotted: ['ipRestrictions.1']. */
export const refusedPaths = (input: TokenFieldsInput, mode: 'mint' | 'update' = 'update', overrides: Partial<ExpiryPolicy> = {}) =>
  problems(input, mode, overrides).map((p) => p.path.join('.'));

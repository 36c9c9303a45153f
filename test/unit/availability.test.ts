import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { unavailability } from '../../src/db/availability.js';

/** Which failures are an outage (503, retry) and which are a bug or bad data (masked, not retried). */
describe('unavailability', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it.each([
    [withCode('ECONNREFUSED'), 'unreachable'],
    [withCode('57P01', 'terminating connection due to administrator command'), 'unreachable'],
    [withCode('57P03', 'the database system is starting up'), 'unreachable'],
    [withCode('08006'), 'unreachable'],
    [withCode('53300', 'too many connections'), 'unreachable'],
    [withCode('57014', 'canceling statement due to statement timeout'), 'timeout'],
    [Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' }), 'unreachable'],
    [new Error('Connection terminated unexpectedly'), 'unreachable'],
    [new Error('Transaction query already complete, run with DEBUG=knex:tx for more info'), 'unreachable'],
    [new Error('Unable to acquire a connection'), 'unreachable'],
    [new AggregateError([withCode('ECONNREFUSED')], 'connect failed'), 'unreachable'],
    [new GraphQLError('wrapped', { originalError: withCode('ECONNRESET') }), 'unreachable'],
  ])('%s is %s', (error, expected) => {
    expect(unavailability(error)).toBe(expected);
  });

  it.each([
    [withCode('23505', 'duplicate key value violates unique constraint')],
    [withCode('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    [withCode('23503', 'insert or update violates foreign key constraint')],
    [new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string'],
    [null],
  ])('%s is not an outage', (error) => {
    expect(unavailability(error)).toBeNull();
  });
});

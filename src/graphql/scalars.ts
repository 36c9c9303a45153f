import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';

/** The schema's scalars: instants, calendar days and free JSON, each with a clear error for bad input. */

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO-8601 string with a time zone (e.g. 2026-01-31T12:00:00Z).',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw invalidDateTime();
    return parseDateTime(ast.value);
  },
});

builder.scalarType('Date', {
  description: 'A calendar day, as YYYY-MM-DD (UTC where it stands for a period).',
  serialize: (value) => value,
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw invalidDate();
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw invalidDate();
  if (new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) throw invalidDate();
  return value;
}

function invalidDate(): GraphQLError {
  return new GraphQLError('Date must be a calendar day as YYYY-MM-DD', { extensions: { code: 'BAD_USER_INPUT' } });
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** The instants PostgreSQL's timestamptz takes as Keymint writes them: years 0001 to 9999, UTC. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) throw invalidDateTime();
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalidDateTime();
  if (date.getTime() < EARLIEST || date.getTime() > LATEST) {
    throw new GraphQLError('DateTime must fall between the years 0001 and 9999 (UTC)', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return date;
}

function invalidDateTime(): GraphQLError {
  return new GraphQLError('DateTime must be an ISO-8601 string with a time zone, e.g. 2026-01-31T12:00:00Z', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

builder.scalarType('JSON', {
  description: 'A JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

import { parse } from 'graphql';
import type { Config } from '../src/config.js';
import { LIMIT_CODES, operationCost } from '../src/graphql/operation-limits.js';
import { schema } from '../src/schema.js';

/**
 * The operations the `abuse` suite sends: the heaviest it could build that the default limits
 * still admit, each from a different angle, and the attack they were written against, cut down
 * until a different limit refuses it. The admitted ones are filled up to GRAPHQL_MAX_COST with
 * the service's own cost function (operationCost over the service's schema), so they follow any
 * change of the weights; each is then sent once and must be admitted before anything is measured.
 */

export type LimitCode = (typeof LIMIT_CODES)[keyof typeof LIMIT_CODES];

export interface AbuseCase {
  name: string;
  /** One line for the report: what makes it expensive. */
  about: string;
  query: string;
  /** What the service must answer: data without errors, or a refusal with this code. */
  expect: 'admitted' | LimitCode;
  /** operationCost of the operation, as the cost limit computes it. */
  cost: number;
  aliases: number;
}

/** The page size the token lists allow at most (PAGE_SIZE.max). */
const MAX_PAGE = 100;

function costOf(query: string): number {
  const cost = operationCost(parse(query, { noLocation: true }), undefined, {}, schema);
  if (cost.kind !== 'cost') throw new Error(`no cost for a benchmark operation, is it valid? ${query.slice(0, 200)}`);
  return cost.cost;
}

/**
 * `query { <alias 0> <alias 1> ... }`: aliases of page size 100 while they fit in `maxCost` (and
 * `maxAliases`), then one last alias with the largest page size that still fits. `alias(i, first)`
 * writes the i-th, which differs from the others where the service would otherwise share the
 * work between them (a different `days` is a different usage loader).
 */
function fillToCost(
  limits: Config['graphql'],
  alias: (i: number, first: number) => string,
): { query: string; cost: number; aliases: number } {
  const fields: string[] = [];
  const document = (extra: string[]) => `query { ${[...fields, ...extra].join(' ')} }`;
  while (fields.length < limits.maxAliases) {
    const i = fields.length;
    let first = MAX_PAGE;
    while (first > 0 && costOf(document([alias(i, first)])) > limits.maxCost) first -= 1;
    if (first === 0) break;
    fields.push(alias(i, first));
    if (first < MAX_PAGE) break;
  }
  const query = document([]);
  return { query, cost: costOf(query), aliases: fields.length };
}

/**
 * Team.tokens nested as deep as GRAPHQL_MAX_DEPTH admits (12: tokens > edges > node > team >
 * tokens > ... > id), innermost page of 1: the most Team.tokens resolver calls (and token objects
 * in the answer) that the cost admits, with the largest a x b of the outer page sizes.
 */
function deepestNesting(limits: Config['graphql']): { query: string; cost: number } {
  const nested = (a: number, b: number) =>
    `query { tokens(first: ${a}, includeInactive: true) { edges { node { team { tokens(first: ${b}, includeInactive: true) { edges { node { team { tokens(first: 1, includeInactive: true) { edges { node { id } } } } } } } } } } } }`;
  let best = { a: 1, b: 1 };
  // The largest b that fits only shrinks as a grows.
  let b = MAX_PAGE;
  for (let a = 1; a <= MAX_PAGE; a += 1) {
    while (b > 0 && costOf(nested(a, b)) > limits.maxCost) b -= 1;
    if (b === 0) break;
    if (a * b > best.a * best.b) best = { a, b };
  }
  const query = nested(best.a, best.b);
  return { query, cost: costOf(query) };
}

const USAGE_PAGE = (i: number) => `a${i}: tokens(first: 100) { edges { node { usage(days: 30) { totalRequests } } } }`;

/** The attack the limits were written against, at `aliases` copies of a page of 100 tokens with their usage. */
function usagePageAttack(aliases: number): string {
  return `query { ${Array.from({ length: aliases }, (_, i) => USAGE_PAGE(i)).join(' ')} }`;
}

export function abuseCases(limits: Config['graphql'], teamIds: string[]): AbuseCase[] {
  const pages = fillToCost(
    limits,
    (i, first) =>
      `p${i}: tokens(first: ${first}, includeInactive: true) { totalCount edges { node { id name usage(days: ${30 + i}) { totalRequests daily { date totalRequests } topEndpoints(limit: 5) { endpoint count } } owner { email } team { name } children { id } } } }`,
  );
  const daily = fillToCost(
    limits,
    (i, first) =>
      `d${i}: tokens(first: ${first}, includeInactive: true) { edges { node { usage(days: ${366 - i}) { daily { date totalRequests blockedRequests } } } } }`,
  );
  const teamUsage = fillToCost(
    limits,
    (i, first) =>
      `t${i}: team(id: "${teamIds[i % teamIds.length]}") { tokens(first: ${first}, includeInactive: true) { edges { node { team { usage(days: 366) { totalRequests } } } } } }`,
  );
  const deep = deepestNesting(limits);
  const attack = (aliases: number) => {
    const query = usagePageAttack(aliases);
    return { query, aliases, cost: costOf(query) };
  };

  return [
    {
      name: 'pages',
      about: 'pages of 100 tokens with usage(days: 30+i) (daily, topEndpoints), owner, team, children, totalCount',
      expect: 'admitted',
      ...pages,
    },
    {
      name: 'daily',
      about: 'pages of tokens with usage(days: 366-i) { daily }: a year of daily rows per token',
      expect: 'admitted',
      ...daily,
    },
    {
      name: 'team usage',
      about: "team(id) { tokens { node { team { usage(days: 366) } } } }: the team's whole usage, reached through each token",
      expect: 'admitted',
      ...teamUsage,
    },
    {
      name: 'depth',
      about: 'tokens > team > tokens > team > tokens(first: 1), as deep as the depth limit admits: the most objects per cost',
      expect: 'admitted',
      aliases: 0,
      ...deep,
    },
    {
      name: '1000 aliases',
      about: 'the original attack: 1,000 aliases of tokens(first: 100) { usage(days: 30) { totalRequests } }',
      expect: LIMIT_CODES.tokens,
      ...attack(1000),
    },
    {
      name: `${limits.maxAliases + 1} aliases`,
      about: 'the same, cut to one alias over the alias limit',
      expect: LIMIT_CODES.aliases,
      ...attack(limits.maxAliases + 1),
    },
    {
      name: `${limits.maxAliases} aliases`,
      about: 'the same, cut to the alias limit: over the cost limit',
      expect: LIMIT_CODES.cost,
      ...attack(limits.maxAliases),
    },
  ];
}

import { BadUserInputError } from '../../errors/errors.js';
import { isUuid } from '../../global-id.js';

/**
 * Newest-first lists paged by keyset on (time, id): the opaque cursor, the argument checks and
 * the connection shape every such list (tokens, audit events) hands to the relay plugin.
 */

export const PAGE_SIZE = { default: 50, max: 100 } as const;

/** 9999-12-31T23:59:59.999Z */
const LATEST_CURSOR_TIME = 253_402_300_799_999;

/** Position in a newest-first list: (time, id), both descending. */
export interface KeysetCursor {
  at: Date;
  id: string;
}

export function encodeKeysetCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.getTime(), id])).toString('base64url');
}

export function decodeKeysetCursor(cursor: string): KeysetCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [millis, id] = value as [unknown, unknown];
    // Only times a row can have: anything else would reach PostgreSQL as an impossible timestamp.
    if (typeof millis !== 'number' || !Number.isInteger(millis) || millis < 0 || millis > LATEST_CURSOR_TIME) return null;
    if (typeof id !== 'string') return null;
    if (!isUuid(id)) return null;
    return { at: new Date(millis), id };
  } catch {
    return null;
  }
}

/**
 * What a page costs in the operation limits (see src/graphql/operation-limits.ts): the page size
 * asked for (the default when absent, the maximum when out of range, which the resolver refuses
 * anyway) times what each item selects.
 */
export function pageComplexity(args: { first?: number | null }): { field: number; multiplier: number } {
  const first = args.first;
  const size = typeof first === 'number' && Number.isInteger(first) && first >= 1 ? Math.min(first, PAGE_SIZE.max) : first == null ? PAGE_SIZE.default : PAGE_SIZE.max;
  return { field: 2, multiplier: size };
}

/** A count(*) over the whole list, run only when totalCount is selected. */
export const COUNT_COMPLEXITY = 10;

/** `first` and `after` as a list receives them, checked: out of range is BAD_USER_INPUT. */
export function pageArguments(args: { first?: number | null; after?: string | null }): { first: number; after: KeysetCursor | null } {
  const first = args.first ?? PAGE_SIZE.default;
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE.max) {
    throw new BadUserInputError(`first must be between 1 and ${PAGE_SIZE.max}`, 'first');
  }
  const after = args.after ? decodeKeysetCursor(args.after) : null;
  if (args.after && !after) throw new BadUserInputError('after is not a cursor from this list', 'after');
  return { first, after };
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Counted only when asked for. */
  totalCount: () => Promise<number>;
}

export function connectionOf<T>(
  nodes: T[],
  cursorOf: (node: T) => string,
  page: { hasNextPage: boolean; after: KeysetCursor | null },
  totalCount: () => Promise<number>,
): ConnectionShape<T> {
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  // Counted once, however many times the page is reached in the request.
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: () => (counted ??= totalCount()),
  };
}

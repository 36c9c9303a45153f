/**
 * Object ids are opaque to clients, typed by a short prefix: `tok_<uuid>`, `team_<uuid>`,
 * `usr_<uuid>`. The prefix tells `node(id:)` which type to load and makes a pasted id readable.
 */

const PREFIX_BY_TYPE: Record<string, string> = { Token: 'tok', Team: 'team', User: 'usr' };
const TYPE_BY_PREFIX: Record<string, string> = Object.fromEntries(
  Object.entries(PREFIX_BY_TYPE).map(([type, prefix]) => [prefix, type]),
);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether the string is a database id as PostgreSQL's uuid takes it (lowercase, as ids are written). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export type IdType = 'Token' | 'Team' | 'User';

/** What a malformed or foreign id decodes to: a type name no object has. */
export const UNKNOWN_TYPE = 'Unknown';

export function encodeGlobalId(typename: string, id: bigint | number | string): string {
  const prefix = PREFIX_BY_TYPE[typename];
  if (!prefix) throw new Error(`No global id prefix for type ${typename}`);
  return `${prefix}_${String(id)}`;
}

/** Decodes any id; an unknown or malformed one decodes to a type that matches nothing. */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const separator = globalId.indexOf('_');
  const typename = TYPE_BY_PREFIX[globalId.slice(0, separator)];
  const id = globalId.slice(separator + 1).toLowerCase();
  if (separator < 0 || !typename || !isUuid(id)) return { typename: UNKNOWN_TYPE, id: globalId };
  return { typename, id };
}

/** The database id behind a global id of the expected type, or null: malformed looks like absent. */
export function parseGlobalId(type: IdType, globalId: string): string | null {
  const decoded = decodeGlobalId(globalId);
  return decoded.typename === type ? decoded.id : null;
}

/**
 * Permissions are `category.action` strings, with `category.*` and `*` as wildcards.
 * Containment ("does holding A let you grant or use B?") is decided here and nowhere else.
 */

const PERMISSION_PATTERN = /^(\*|[a-z][a-z0-9_-]{0,63}\.(\*|[a-z][a-z0-9_-]{0,63}))$/;

export const ALL_PERMISSIONS = '*';

export function isValidPermission(value: string): boolean {
  return PERMISSION_PATTERN.test(value);
}

/** Whether one held permission covers the wanted one: exact, `category.*`, or `*`. */
function covers(held: string, wanted: string): boolean {
  if (held === ALL_PERMISSIONS || held === wanted) return true;
  if (!held.endsWith('.*')) return false;
  const category = held.slice(0, -1); // keeps the dot: "tools."
  return wanted.startsWith(category);
}

/** Whether a set of held permissions contains the wanted permission. */
export function grants(held: readonly string[], wanted: string): boolean {
  return held.some((h) => covers(h, wanted));
}

/** The wanted permissions that `held` does not contain, in their original order. */
export function missingPermissions(held: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((w) => !grants(held, w));
}

/**
 * What two permission sets both allow, as a minimal list: `tools.*` ∩ `tools.read` is
 * `tools.read`; `*` ∩ X is X. Used for an API token, whose power is bounded both by its own
 * list and by what its owner holds now.
 */
export function intersectPermissions(a: readonly string[], b: readonly string[]): string[] {
  const result = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      if (covers(x, y)) result.add(y);
      else if (covers(y, x)) result.add(x);
    }
  }
  return normalizePermissions([...result]);
}

/** Drops duplicates and entries already covered by a wildcard in the same list; keeps order. */
export function normalizePermissions(permissions: readonly string[]): string[] {
  const unique = [...new Set(permissions)];
  return unique.filter((p) => !unique.some((other) => other !== p && covers(other, p)));
}

/** Escapes LIKE/ILIKE wildcards, so that user input matches literally. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * PostgreSQL's text cannot hold U+0000, and a string with an unpaired UTF-16 surrogate has no UTF-8
 * form at all (the driver would silently replace it). Input with either is refused; text observed
 * in someone else's request (a user agent, a path) is cleaned instead.
 */
export function unstorableText(value: string): boolean {
  return value.includes('\u0000') || !value.isWellFormed();
}

/** What a refusal of such text says, naming where it was. */
export function unstorableTextMessage(where: string): string {
  return `${where} contains a character that cannot be stored (NUL, U+0000, or an unpaired surrogate)`;
}

// Control characters (C0, DEL, C1): never meaningful in a path, a method or a user agent.
const CONTROL = /[\p{Cc}]/gu;

/** Control characters removed, unpaired surrogates replaced, cut to `max` characters; null when nothing is left. */
export function sanitizeText(value: string | null | undefined, max: number): string | null {
  if (!value) return null;
  const clean = value.toWellFormed().replace(CONTROL, '');
  if (clean === '') return null;
  // Cut at a code point, never inside a surrogate pair.
  return clean.length <= max ? clean : Array.from(clean).slice(0, max).join('');
}

/**
 * What must never leave the process in a log line or an error message: secrets, session JWTs,
 * and, in logged errors, the values inside SQL (emails, names, digests) that the database driver
 * and the ORM paste into their messages.
 */

/**
 * A Keymint secret of any prefix: `<prefix>_` + 43 random + 6 checksum base62 characters, wherever
 * it sits (glued to other text too: `abc_km_...` holds one).
 */
const SECRET = /[a-z][a-z0-9]{0,7}_[0-9A-Za-z]{49}(?![0-9A-Za-z])/g;
/** A compact JWS: three base64url parts, the first a JSON header ("eyJ"). */
const JWT = /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g;
/** A quoted SQL literal, with '' escapes. */
const SQL_LITERAL = /'(?:[^']|'')*'/g;
/** PostgreSQL's "Key (column)=(value)" in constraint details. */
const KEY_DETAIL = /=\((?:[^()]|\([^()]*\))*\)/g;
const EMAIL = /[^\s@'"(),<>]+@[^\s@'"(),<>]+\.[A-Za-z]{2,}/g;
/** SHA-256 digests as stored (hex). */
const DIGEST = /\b[0-9a-f]{64}\b/g;

/** Secrets and session JWTs replaced: for error messages a caller will read. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET, '[redacted secret]').replace(JWT, '[redacted JWT]');
}

/** Everything personal or secret replaced: for error text that goes to the logs. */
export function scrubForLog(text: string): string {
  return redactSecrets(text).replace(SQL_LITERAL, '?').replace(KEY_DETAIL, '=(?)').replace(EMAIL, '[email]').replace(DIGEST, '[digest]');
}

/** Properties of driver errors that hold the statement's values themselves. */
const VALUE_KEYS = new Set(['parameters', 'params', 'bindings', 'values', 'variables']);

/** A logged error, as pino's error serializer made it, with every string scrubbed and bound values dropped. */
export function scrubLoggedError(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubForLog(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubLoggedError(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = VALUE_KEYS.has(key) ? '[dropped]' : scrubLoggedError(inner, depth + 1);
  }
  return out;
}

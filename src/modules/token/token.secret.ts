import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The secret's format: `<prefix>_` + base62 of 32 random bytes (43 characters) + 6 base62
 * characters of the CRC32 of everything before them. The checksum lets scanners and Keymint
 * itself tell a real token from noise offline, before any database work (GitHub's format does
 * the same). Only the SHA-256 digest is stored.
 */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_BYTES = 32;
const BODY_LENGTH = 43; // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32
export const DISPLAY_PREFIX_LENGTH = 12;

export interface NewSecret {
  secret: string;
  hash: string;
  displayPrefix: string;
}

function toBase62(value: bigint, length: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out.padStart(length, '0');
}

/** Base62 of the CRC32, in plain number arithmetic: this runs on every verification. */
function checksum(text: string): string {
  let rest = crc32(text) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i += 1) {
    out = ALPHABET[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** One-shot crypto.hash (Node >= 20.12): no Hash object to build and collect, about 4x faster. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function generateSecret(prefix: string): NewSecret {
  const body = toBase62(BigInt(`0x${randomBytes(RANDOM_BYTES).toString('hex')}`), BODY_LENGTH);
  const head = `${prefix}_${body}`;
  const secret = head + checksum(head);
  return { secret, hash: hashSecret(secret), displayPrefix: secret.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** Whether a string has the shape of a token with this prefix (it may still be a forgery). */
export function looksLikeSecret(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`);
}

const shapes = new Map<string, RegExp>();

function shapeOf(prefix: string): RegExp {
  let shape = shapes.get(prefix);
  if (!shape) {
    shape = new RegExp(`^${prefix}_[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);
    shapes.set(prefix, shape);
  }
  return shape;
}

/** Whether the string is well-formed and its checksum matches: no database work needed to say no. */
export function hasValidChecksum(prefix: string, value: string): boolean {
  if (!shapeOf(prefix).test(value)) return false;
  return checksum(value.slice(0, -CHECKSUM_LENGTH)) === value.slice(-CHECKSUM_LENGTH);
}

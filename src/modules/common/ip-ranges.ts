import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * IP addresses and CIDR ranges, read one way everywhere: when `ipRestrictions` are set, when an
 * API token narrows them, and when a client address is checked against them at verification.
 *
 * ipaddr.js alone reads more than we accept ("127.1", "0x7f.0.0.1", "010.0.0.1" as octal, and
 * inside IPv6 "::ffff:010.0.0.1" as decimal), so text must first pass Node's `net.isIP`, whose
 * grammar is the strict one: four decimal IPv4 parts without leading zeros, also when embedded
 * in IPv6. On top of that:
 * - "::a.b.c.d" (IPv4-compatible, deprecated by RFC 4291) is refused: ipaddr.js reads it as
 *   ::ffff:a.b.c.d, the RFC as ::0:0:a.b.c.d, so no reading of it is safe.
 * - IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address it carries, and a mapped range with a
 *   prefix of 96 or more is the IPv4 range it carries (::ffff:10.0.0.0/104 is 10.0.0.0/8). An
 *   IPv4 address is never inside an IPv6 range, so ::/0 admits no IPv4 client.
 * - A client address may be [bracketed] and, when IPv6, carry a zone (fe80::1%eth0). The zone is
 *   dropped: it names an interface of the host that saw the packet, not who sent it.
 * - A range is an address or address/prefix, without brackets or zone.
 */

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** A CIDR range; a single address is a range of 32 (IPv4) or 128 (IPv6) bits. */
export interface IpRange {
  readonly address: IpAddress;
  readonly bits: number;
}

// The longest address text is 45 characters (IPv6 with embedded IPv4), plus a zone or a prefix;
// longer text is refused before any pattern runs over it.
const MAX_TEXT_LENGTH = 128;
const PREFIX_PATTERN = /^\d{1,3}$/;
const IPV4_COMPATIBLE = /^::\d+\.\d+\.\d+\.\d+$/;

function fullBits(address: IpAddress): number {
  return address.kind() === 'ipv4' ? 32 : 128;
}

/** Strict address text without zone or brackets, as written (IPv4-mapped stays IPv6). */
function parseAddressText(text: string): IpAddress | null {
  const family = isIP(text);
  if (family === 4) return ipaddr.IPv4.parse(text);
  if (family !== 6 || text.includes('%') || IPV4_COMPATIBLE.test(text)) return null;
  return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : null;
}

function isMapped(address: IpAddress): address is ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

/** A client's address: trimmed, brackets and an IPv6 zone allowed; IPv4-mapped becomes IPv4. */
export function parseAddress(text: string | null | undefined): IpAddress | null {
  if (!text) return null;
  let value = text.trim();
  if (value.length > MAX_TEXT_LENGTH) return null;
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1); // "[::1]" as in URLs
  if (isIP(value) === 6) value = value.split('%')[0]!;
  const address = parseAddressText(value);
  if (!address) return null;
  return isMapped(address) ? address.toIPv4Address() : address;
}

interface WrittenRange extends IpRange {
  readonly hasPrefix: boolean;
}

/** The range as written: its address (mapped IPv6 kept) and prefix length, or null. */
function parseWrittenRange(text: string): WrittenRange | null {
  const value = text.trim();
  if (value.length > MAX_TEXT_LENGTH) return null;
  const slash = value.indexOf('/');
  const address = parseAddressText(slash === -1 ? value : value.slice(0, slash));
  if (!address) return null;
  if (slash === -1) return { address, bits: fullBits(address), hasPrefix: false };
  const prefix = value.slice(slash + 1);
  if (!PREFIX_PATTERN.test(prefix) || Number(prefix) > fullBits(address)) return null;
  return { address, bits: Number(prefix), hasPrefix: true };
}

/** "10.0.0.0/8", "2001:db8::/32", "192.168.1.7" (a /32), or null if it is not a range. */
export function parseRange(text: string): IpRange | null {
  const range = parseWrittenRange(text);
  if (!range) return null;
  if (isMapped(range.address) && range.bits >= 96) {
    return { address: range.address.toIPv4Address(), bits: range.bits - 96 };
  }
  return { address: range.address, bits: range.bits };
}

/**
 * The form a range is stored and shown in: trimmed, IPv6 lowercase and compressed, the prefix
 * without leading zeros, a single address without a prefix. Mapped IPv6 stays as written (in hex)
 * so that what a caller reads back is what they set. Null if the text is not a range.
 */
export function normalizeRange(text: string): string | null {
  const range = parseWrittenRange(text);
  if (!range) return null;
  const address = range.address.toString();
  return range.hasPrefix ? `${address}/${range.bits}` : address;
}

/** Whether the address lies in the range; an IPv4 address is never in an IPv6 range. */
export function rangeContains(range: IpRange, address: IpAddress): boolean {
  return address.kind() === range.address.kind() && address.match(range.address, range.bits);
}

/** Whether every address of `inner` is in `outer`. */
export function rangeWithin(inner: IpRange, outer: IpRange): boolean {
  return inner.bits >= outer.bits && rangeContains(outer, inner.address);
}

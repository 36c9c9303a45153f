import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normalizeRange,
  parseAddress,
  parseRange,
  rangeContains,
  rangeWithin,
  type IpRange,
} from '../../src/modules/common/ip-ranges.js';

/** The range as "address/bits" text, or null: comparable with toEqual. */
const range = (text: string) => {
  const parsed = parseRange(text);
  return parsed && `${parsed.address.toString()}/${parsed.bits}`;
};
const address = (text: string | null | undefined) => parseAddress(text)?.toString() ?? null;
const contains = (rangeText: string, addressText: string) => {
  const r = parseRange(rangeText);
  const a = parseAddress(addressText);
  if (!r || !a) throw new Error(`unparseable fixture ${rangeText} / ${addressText}`);
  return rangeContains(r, a);
};
const within = (inner: string, outer: string) => rangeWithin(parseRange(inner)!, parseRange(outer)!);

describe('parseRange', () => {
  it('reads a single address as a /32 or /128, and CIDR ranges as written', () => {
    expect(range('192.168.1.7')).toBe('192.168.1.7/32');
    expect(range('2001:db8::1')).toBe('2001:db8::1/128');
    expect(range('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(range('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(range('::/0')).toBe('::/0');
    expect(range('2001:DB8::/32')).toBe('2001:db8::/32');
  });

  it('reads an IPv4-mapped range of 96 bits or more as the IPv4 range it carries', () => {
    expect(range('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8');
    expect(range('::ffff:1.2.3.4/120')).toBe('1.2.3.4/24');
    expect(range('::ffff:1.2.3.4')).toBe('1.2.3.4/32');
    expect(range('::FFFF:a00:0/104')).toBe('10.0.0.0/8');
    // Below 96 bits the range is more than the mapped block: it stays IPv6.
    expect(range('::ffff:0:0/95')).toBe('::ffff:0:0/95');
  });

  it('trims surrounding whitespace but refuses whitespace inside', () => {
    expect(range(' 10.0.0.0/8\t\n')).toBe('10.0.0.0/8');
    expect(range('10.0.0.0 /8')).toBeNull();
    expect(range('10.0.0.0/ 8')).toBeNull();
    expect(range('10.0.0. 0/8')).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['a host name', 'localhost'],
    ['a prefix over 32', '1.2.3.4/33'],
    ['a prefix over 128', '2001:db8::/129'],
    ['a mapped prefix over 128', '::ffff:1.2.3.4/129'],
    ['a negative prefix', '1.2.3.4/-1'],
    ['a hex prefix', '1.2.3.4/0x8'],
    ['a four-digit prefix', '1.2.3.4/0008'],
    ['an empty prefix', '1.2.3.4/'],
    ['no address', '/8'],
    ['two prefixes', '10.0.0.0/8/16'],
    ['three IPv4 parts', '1.2.3'],
    ['the short form 127.1', '127.1'],
    ['hex IPv4', '0x7f.0.0.1'],
    ['a leading zero (octal to some parsers)', '010.0.0.1'],
    ['an octet over 255', '256.1.1.1'],
    ['a leading zero inside IPv6', '::ffff:010.0.0.1'],
    ['hex inside IPv6', '::ffff:0x7f.0.0.1'],
    ['IPv4-compatible IPv6 (read two ways)', '::1.2.3.4'],
    ['a zone', 'fe80::1%eth0'],
    ['a zone before the prefix', 'fe80::1%eth0/64'],
    ['brackets', '[::1]'],
    ['two double colons', '1::2::3'],
    ['a NUL after the address', '1.2.3.4\u0000'],
    ['a NUL inside', '10.0.0.0\u0000/8'],
    ['a lone surrogate', '10.0.0.0/8\ud800'],
    ['full-width digits', '１.２.３.４'],
    ['a port', '1.2.3.4:80'],
    ['a list', '1.2.3.4, 5.6.7.8'],
    ['a huge string', '1'.repeat(100_000)],
    ['a huge address-like string', `${'1.'.repeat(50_000)}1`],
    ['a huge prefix', `10.0.0.0/${'8'.repeat(10_000)}`],
  ])('refuses %s', (_label, text) => {
    expect(parseRange(text)).toBeNull();
    expect(normalizeRange(text)).toBeNull();
  });
});

describe('normalizeRange', () => {
  it('writes the form a token stores and shows', () => {
    expect(normalizeRange('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(normalizeRange('2001:db8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeRange('192.168.1.7')).toBe('192.168.1.7');
    expect(normalizeRange(' 10.0.0.0/08 ')).toBe('10.0.0.0/8');
    // Host bits are kept: they change nothing, and the caller reads back what they set.
    expect(normalizeRange('10.1.2.3/8')).toBe('10.1.2.3/8');
    // Mapped addresses keep their IPv6 form, in hex.
    expect(normalizeRange('::ffff:10.0.0.0/104')).toBe('::ffff:a00:0/104');
  });
});

describe('parseAddress (a client address)', () => {
  it('reads IPv4 and IPv6, trimmed, and an IPv6 address in brackets', () => {
    expect(address('203.0.113.7')).toBe('203.0.113.7');
    expect(address(' 2001:DB8::1 ')).toBe('2001:db8::1');
    expect(address('[2001:db8::1]')).toBe('2001:db8::1');
  });

  it('reads IPv4-mapped IPv6 as IPv4', () => {
    expect(address('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(address('::ffff:a01:203')).toBe('10.1.2.3');
  });

  it('drops the zone of an IPv6 address, and refuses a zone anywhere else', () => {
    expect(address('fe80::1%eth0')).toBe('fe80::1');
    expect(address('[fe80::1%br-7c2f.10]')).toBe('fe80::1');
    expect(address('1.2.3.4%eth0')).toBeNull();
    expect(address('fe80::1%')).toBeNull();
    expect(address('fe80::1%eth 0')).toBeNull();
    expect(address('fe80::1%eth0%eth1')).toBeNull();
    // Interface names are short; a zone of hundreds of characters is not an address.
    expect(address(`fe80::1%${'a'.repeat(200)}`)).toBeNull();
  });

  it.each([null, undefined, '', ' ', 'not-an-ip', '10.1', '1.2.3.4/32', '1.2.3.4:80', '::1.2.3.4', '::ffff:010.0.0.1', '1.2.3.4\u0000', '::1\ud800', '[[::1]]', 'x'.repeat(100_000)])(
    'refuses %j',
    (text) => {
      expect(parseAddress(text)).toBeNull();
    },
  );
});

describe('rangeContains', () => {
  it('matches inside the prefix only', () => {
    expect(contains('10.0.0.0/8', '10.255.255.255')).toBe(true);
    expect(contains('10.0.0.0/8', '11.0.0.0')).toBe(false);
    expect(contains('192.168.1.7', '192.168.1.7')).toBe(true);
    expect(contains('192.168.1.7', '192.168.1.8')).toBe(false);
    expect(contains('10.1.2.3/8', '10.9.9.9')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db9::1')).toBe(false);
  });

  it('never mixes families: 0.0.0.0/0 is every IPv4 client, ::/0 no IPv4 client', () => {
    expect(contains('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(contains('0.0.0.0/0', '::ffff:8.8.8.8')).toBe(true);
    expect(contains('0.0.0.0/0', '::1')).toBe(false);
    expect(contains('::/0', '2001:db8::1')).toBe(true);
    expect(contains('::/0', '8.8.8.8')).toBe(false);
    expect(contains('::/0', '::ffff:8.8.8.8')).toBe(false);
    expect(contains('::ffff:1.2.3.4/120', '1.2.3.200')).toBe(true);
    expect(contains('::ffff:1.2.3.4/120', '1.2.4.1')).toBe(false);
  });
});

describe('rangeWithin', () => {
  it('is true for the same or a narrower range, false for a wider or a disjoint one', () => {
    expect(within('10.1.0.0/16', '10.0.0.0/8')).toBe(true);
    expect(within('10.0.0.0/8', '10.0.0.0/8')).toBe(true);
    expect(within('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(within('10.0.0.0/8', '10.1.0.0/16')).toBe(false);
    expect(within('11.0.0.0/16', '10.0.0.0/8')).toBe(false);
    expect(within('2001:db8:1::/48', '2001:db8::/32')).toBe(true);
    expect(within('2001:db8::/31', '2001:db8::/32')).toBe(false);
  });

  it('reads mapped ranges as IPv4 on either side, and never across families', () => {
    expect(within('::ffff:10.1.0.0/112', '10.0.0.0/8')).toBe(true);
    expect(within('10.1.0.0/16', '::ffff:10.0.0.0/104')).toBe(true);
    expect(within('::ffff:10.0.0.0/104', '::/0')).toBe(false);
    expect(within('::ffff:10.0.0.0/104', '::ffff:0:0/95')).toBe(false);
    expect(within('::1', '0.0.0.0/0')).toBe(false);
  });
});

// Properties over random addresses, written as text so that they go through the parser.
const v4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const v6Text = (n: bigint) =>
  Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
const v4 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const v6 = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });

/** A family's addresses as numbers, with its text form and width. */
const families = [
  { name: 'IPv4', width: 32, arb: v4.map(BigInt), text: (n: bigint) => v4Text(Number(n)) },
  { name: 'IPv6', width: 128, arb: v6, text: v6Text },
] as const;

/** The address `n` with its host bits (those after `bits`) replaced by those of `host`. */
const inPrefix = (n: bigint, bits: number, host: bigint, width: number) => {
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  return (n & ~hostMask) | (host & hostMask);
};

describe.each(families)('$name properties', ({ width, arb, text }) => {
  const rangeArb = fc.tuple(arb, fc.integer({ min: 0, max: width })).map(([n, bits]) => ({ n, bits }));
  const parsed = (r: { n: bigint; bits: number }): IpRange => parseRange(`${text(r.n)}/${r.bits}`)!;

  it('rangeContains is the prefix comparison', () => {
    fc.assert(
      fc.property(rangeArb, arb, (r, a) => {
        const shift = BigInt(width - r.bits);
        expect(rangeContains(parsed(r), parseAddress(text(a))!)).toBe(r.n >> shift === a >> shift);
      }),
    );
  });

  it('rangeWithin: every address of the inner range is in the outer one', () => {
    fc.assert(
      fc.property(rangeArb, fc.integer({ min: 0, max: width }), arb, fc.array(arb, { minLength: 1, maxLength: 8 }), (outer, extra, host, samples) => {
        // An inner range built inside the outer one half the time, anywhere otherwise.
        const inside = extra % 2 === 0;
        const inner = { n: inside ? inPrefix(outer.n, outer.bits, host, width) : host, bits: Math.min(width, outer.bits + extra) };
        const isWithin = rangeWithin(parsed(inner), parsed(outer));
        if (inside) expect(isWithin).toBe(true);
        if (!isWithin) return;
        for (const sample of samples) {
          const a = parseAddress(text(inPrefix(inner.n, inner.bits, sample, width)))!;
          expect(rangeContains(parsed(inner), a)).toBe(true);
          expect(rangeContains(parsed(outer), a)).toBe(true);
        }
      }),
    );
  });

  it('rangeWithin refuses only with a witness: an address of the inner range outside the outer one', () => {
    fc.assert(
      fc.property(rangeArb, rangeArb, (inner, outer) => {
        fc.pre(!rangeWithin(parsed(inner), parsed(outer)));
        // Either the inner network itself is outside, or the inner range is wider and flipping
        // the last bit of the outer prefix stays inside inner but leaves outer.
        const flipped = outer.bits === 0 ? inner.n : inner.n ^ (1n << BigInt(width - outer.bits));
        const witnesses = [inner.n, flipped].map((n) => parseAddress(text(n))!);
        expect(witnesses.some((a) => rangeContains(parsed(inner), a) && !rangeContains(parsed(outer), a))).toBe(true);
      }),
    );
  });
});

describe('text properties', () => {
  it('a mapped range of 96+n bits admits exactly the clients of the IPv4 range of n bits', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), v4, fc.boolean(), (n, bits, client, mappedClient) => {
        const clientText = mappedClient ? `::ffff:${v4Text(client)}` : v4Text(client);
        const mapped = rangeContains(parseRange(`::ffff:${v4Text(n)}/${bits + 96}`)!, parseAddress(clientText)!);
        expect(mapped).toBe(rangeContains(parseRange(`${v4Text(n)}/${bits}`)!, parseAddress(clientText)!));
      }),
    );
  });

  it('normalizeRange is idempotent and keeps the meaning', () => {
    const written = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, b]) => `${a}/${b}`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, b]) => `${a}/${b}`),
      fc.ipV4(),
      fc.ipV6(),
    );
    fc.assert(
      fc.property(written, (text) => {
        const once = normalizeRange(text);
        fc.pre(once !== null);
        expect(normalizeRange(once!)).toBe(once);
        expect(range(once!)).toBe(range(text));
      }),
    );
  });

  it('never accepts an address that Node’s net.isIP refuses', () => {
    const noisy = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/[] x-\u0000'.split('')), maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(noisy, fc.ipV4(), fc.ipV6()), (text) => {
        const bare = text.trim().replace(/^\[(.*)\]$/, '$1');
        if (parseAddress(text) !== null) expect(isIP(bare)).not.toBe(0);
        if (parseRange(text) !== null) expect(isIP(bare.split('/')[0]!)).not.toBe(0);
      }),
      { numRuns: 2_000 },
    );
  });

  it('accepts every IPv4 address in dotted decimal', () => {
    fc.assert(
      fc.property(v4, (n) => {
        expect(address(v4Text(n))).toBe(v4Text(n));
      }),
    );
  });
});

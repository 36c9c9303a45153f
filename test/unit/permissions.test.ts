import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  grants,
  intersectPermissions,
  isValidPermission,
  missingPermissions,
  normalizePermissions,
} from '../../src/auth/permissions.js';

describe('permission format', () => {
  it.each(['*', 'tools.read', 'tools.*', 'tokens.create', 'mcp-server.call_tool'])('accepts %s', (p) => {
    expect(isValidPermission(p)).toBe(true);
  });
  it.each(['', 'tools', 'Tools.read', 'tools.', '.read', 'tools.read.extra', '*.read', 'tools.**', ' tools.read'])(
    'refuses %j',
    (p) => {
      expect(isValidPermission(p)).toBe(false);
    },
  );
});

describe('containment', () => {
  it('exact, category wildcard and global wildcard', () => {
    expect(grants(['tools.read'], 'tools.read')).toBe(true);
    expect(grants(['tools.*'], 'tools.read')).toBe(true);
    expect(grants(['*'], 'anything.at_all')).toBe(true);
  });
  it('does not widen', () => {
    expect(grants(['tools.read'], 'tools.execute')).toBe(false);
    expect(grants(['tools.read'], 'tools.*')).toBe(false);
    expect(grants(['tools.*'], '*')).toBe(false);
    expect(grants(['tools.*'], 'toolsx.read')).toBe(false);
    expect(grants([], 'tools.read')).toBe(false);
  });
  it('lists what is missing, in order', () => {
    expect(missingPermissions(['tools.*'], ['tools.read', 'files.write', '*'])).toEqual(['files.write', '*']);
  });
});

describe('intersection', () => {
  it('keeps the narrower of two overlapping permissions', () => {
    expect(intersectPermissions(['tools.*'], ['tools.read'])).toEqual(['tools.read']);
    expect(intersectPermissions(['tools.read'], ['tools.*'])).toEqual(['tools.read']);
    expect(intersectPermissions(['*'], ['a.b', 'c.*'])).toEqual(['a.b', 'c.*']);
    expect(intersectPermissions(['a.b'], ['c.d'])).toEqual([]);
  });
  it('normalises away entries covered by a wildcard', () => {
    expect(normalizePermissions(['tools.read', 'tools.*', 'tools.read', 'x.y'])).toEqual(['tools.*', 'x.y']);
    expect(normalizePermissions(['a.b', '*'])).toEqual(['*']);
  });
});

describe('wildcard rules', () => {
  it('a category wildcard covers its own category only, by whole name', () => {
    expect(grants(['tools.*'], 'tools.*')).toBe(true);
    expect(grants(['tools.*'], 'tools.execute')).toBe(true);
    expect(grants(['tools.*'], 'tool.read')).toBe(false);
    expect(grants(['tools.*'], 'files.read')).toBe(false);
    expect(grants(['tools.*', 'files.read'], 'files.read')).toBe(true);
  });
  it('"*" covers every permission, and nothing but "*" covers "*"', () => {
    expect(grants(['*'], '*')).toBe(true);
    expect(grants(['*'], 'tools.*')).toBe(true);
    expect(grants(['a.*', 'b.*', 'c.d'], '*')).toBe(false);
  });
  it('an exact permission covers only itself', () => {
    expect(grants(['tools.read'], 'tools.reader')).toBe(false);
    expect(grants(['tools.read'], 'tools.rea')).toBe(false);
  });
  it('intersection keeps only what both sides cover, minimally', () => {
    expect(intersectPermissions(['tools.*', 'files.read'], ['tools.read', 'files.*'])).toEqual(['tools.read', 'files.read']);
    expect(intersectPermissions(['*'], ['*'])).toEqual(['*']);
    expect(intersectPermissions(['tools.*'], ['tools.*', 'tools.read'])).toEqual(['tools.*']);
    expect(intersectPermissions([], ['*'])).toEqual([]);
  });
  it('normalising keeps the first occurrence order and drops only what a wildcard covers', () => {
    expect(normalizePermissions(['b.x', 'a.y', 'b.x', 'a.z'])).toEqual(['b.x', 'a.y', 'a.z']);
    expect(normalizePermissions(['a.x', 'b.*', 'b.y', 'a.*'])).toEqual(['b.*', 'a.*']);
    expect(normalizePermissions([])).toEqual([]);
  });
});

// A small alphabet, so that random lists overlap and wildcards cover each other often.
const permission = fc.oneof(
  { weight: 1, arbitrary: fc.constant('*') },
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('a', 'b', 'ab'), fc.constantFrom('x', 'y', 'xy', '*')).map(([c, a]) => `${c}.${a}`) },
);
const permissions = fc.array(permission, { maxLength: 6 });

describe('permission properties', () => {
  it('the generated permissions are valid ones', () => {
    fc.assert(
      fc.property(permission, (p) => {
        expect(isValidPermission(p)).toBe(true);
      }),
    );
  });

  it('the intersection grants exactly what both sides grant', () => {
    fc.assert(
      fc.property(permissions, permissions, permission, (a, b, wanted) => {
        expect(grants(intersectPermissions(a, b), wanted)).toBe(grants(a, wanted) && grants(b, wanted));
      }),
    );
  });

  it('the intersection is the same set either way round, and normalised', () => {
    fc.assert(
      fc.property(permissions, permissions, (a, b) => {
        const ab = intersectPermissions(a, b);
        expect(new Set(ab)).toEqual(new Set(intersectPermissions(b, a)));
        expect(normalizePermissions(ab)).toEqual(ab);
      }),
    );
  });

  it('normalising grants the same, has no duplicates and nothing covered by another entry', () => {
    fc.assert(
      fc.property(permissions, permission, (list, wanted) => {
        const normal = normalizePermissions(list);
        expect(grants(normal, wanted)).toBe(grants(list, wanted));
        expect(new Set(normal).size).toBe(normal.length);
        for (const p of normal) expect(grants(normal.filter((q) => q !== p), p)).toBe(false);
        expect(normalizePermissions(normal)).toEqual(normal);
      }),
    );
  });

  it('a single held permission grants by the written rules: itself, its category, or all', () => {
    fc.assert(
      fc.property(permission, permission, (held, wanted) => {
        const category = held.endsWith('.*') ? held.slice(0, -1) : null;
        const expected = held === '*' || held === wanted || (category !== null && wanted.startsWith(category));
        expect(grants([held], wanted)).toBe(expected);
      }),
    );
  });

  it('holding more never grants less, and nothing granted is reported missing', () => {
    fc.assert(
      fc.property(permissions, permission, permissions, (held, more, wanted) => {
        const missing = missingPermissions(held, wanted);
        for (const w of wanted) {
          if (grants(held, w)) expect(grants([...held, more], w)).toBe(true);
          expect(missing.includes(w)).toBe(!grants(held, w));
        }
      }),
    );
  });
});

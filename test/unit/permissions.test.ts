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

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/errors.js';
import { LIMITS, validateTokenFields } from '../../src/modules/token/token-fields.js';
import { accepted, policy, problems, refusedPaths } from '../support/token-fields.js';

describe('validateTokenFields: names', () => {
  it('a mint needs a name; an update may leave it out', () => {
    expect(problems({}, 'mint')).toEqual([{ path: ['name'], message: 'name must be 1-64 characters after trimming' }]);
    expect(accepted({}, 'update')).toEqual({});
    expect(accepted({ name: null }, 'update')).toEqual({});
  });

  it('is trimmed, and 1-64 characters after trimming', () => {
    expect(accepted({ name: '  deploy  ' }).name).toBe('deploy');
    expect(accepted({ name: ` ${'n'.repeat(LIMITS.nameLength)} ` }).name).toBe('n'.repeat(64));
    expect(refusedPaths({ name: 'n'.repeat(LIMITS.nameLength + 1) })).toEqual(['name']);
    expect(refusedPaths({ name: ' \t ' })).toEqual(['name']);
    expect(refusedPaths({ name: '' })).toEqual(['name']);
  });

  it.each(['a\u0000b', 'a\nb', 'a\tb', 'a\u001bb', 'a\u007fb', 'a\u0085b'])('refuses the control character in %j', (name) => {
    expect(problems({ name })).toEqual([{ path: ['name'], message: 'name must not contain control characters' }]);
  });
});

describe('validateTokenFields: description and serverId', () => {
  it('are trimmed; empty or null clears them; absent leaves them unchanged', () => {
    expect(accepted({ description: '  for CI ', serverId: ' mcp-prod ' })).toEqual({ description: 'for CI', serverId: 'mcp-prod' });
    expect(accepted({ description: '   ', serverId: '' })).toEqual({ description: null, serverId: null });
    expect(accepted({ description: null, serverId: null })).toEqual({ description: null, serverId: null });
    expect(accepted({ name: 'x' })).not.toHaveProperty('description');
  });

  it('have their own length limits', () => {
    expect(accepted({ description: 'd'.repeat(500), serverId: 's'.repeat(128) })).toMatchObject({ serverId: 's'.repeat(128) });
    expect(problems({ description: 'd'.repeat(501) })).toEqual([{ path: ['description'], message: 'description must be at most 500 characters' }]);
    expect(problems({ serverId: 's'.repeat(129) })).toEqual([{ path: ['serverId'], message: 'serverId must be at most 128 characters' }]);
  });
});

describe('validateTokenFields: permissions', () => {
  it('accepts "*", category.action and category.*, dropping duplicates in order', () => {
    expect(accepted({ permissions: ['tools.read', '*', 'files.*', 'tools.read'] }).permissions).toEqual(['tools.read', '*', 'files.*']);
    expect(accepted({ permissions: [] }).permissions).toEqual([]);
  });

  it('names each malformed permission by its index', () => {
    const found = problems({ permissions: ['tools.read', 'Tools.Read', 'tools', 'tools.read.x', '*.read', ' tools.read'] });
    expect(found.map((p) => p.path.join('.'))).toEqual(['permissions.1', 'permissions.2', 'permissions.3', 'permissions.4', 'permissions.5']);
    expect(found[0]!.message).toBe(`'Tools.Read' is not a permission: use "*", "category.action" or "category.*" (lowercase)`);
  });

  it('allows at most 100', () => {
    const many = Array.from({ length: 101 }, (_, i) => `p${i}.read`);
    expect(problems({ permissions: many })).toEqual([{ path: ['permissions'], message: 'at most 100 permissions' }]);
    expect(accepted({ permissions: many.slice(0, 100) }).permissions).toHaveLength(100);
  });
});

describe('validateTokenFields: ipRestrictions', () => {
  it('stores each range normalised, once', () => {
    expect(accepted({ ipRestrictions: ['10.0.0.0/8', ' 10.0.0.0/08 ', '2001:DB8::/32', '192.168.1.7'] }).ipRestrictions).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
      '192.168.1.7',
    ]);
    expect(accepted({ ipRestrictions: [] }).ipRestrictions).toEqual([]);
  });

  it('names each entry that is not an address or range', () => {
    const found = problems({ ipRestrictions: ['10.0.0.0/8', '300.1.1.1', '10.0.0.0/33', 'localhost', 'fe80::1%eth0', '::1.2.3.4'] });
    expect(found.map((p) => p.path.join('.'))).toEqual(['ipRestrictions.1', 'ipRestrictions.2', 'ipRestrictions.3', 'ipRestrictions.4', 'ipRestrictions.5']);
    expect(found[0]!.message).toBe("'300.1.1.1' is not an IPv4/IPv6 address or CIDR range");
  });

  it('allows at most 100', () => {
    const many = Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`);
    expect(refusedPaths({ ipRestrictions: many })).toEqual(['ipRestrictions']);
    expect(accepted({ ipRestrictions: many.slice(0, 100) }).ipRestrictions).toHaveLength(100);
  });
});

describe('validateTokenFields: tags', () => {
  it('are trimmed and kept once, in order', () => {
    expect(accepted({ tags: [' ai ', 'ci', 'ai'] }).tags).toEqual(['ai', 'ci']);
  });

  it('are 1-32 characters each, named by index', () => {
    expect(problems({ tags: ['ok', ' ', 't'.repeat(33)] })).toEqual([
      { path: ['tags', '1'], message: 'each tag must be 1-32 characters' },
      { path: ['tags', '2'], message: 'each tag must be 1-32 characters' },
    ]);
    expect(accepted({ tags: ['t'.repeat(32)] }).tags).toEqual(['t'.repeat(32)]);
  });

  it('count at most 20 once duplicates are gone', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `tag${i}`);
    expect(accepted({ tags: [...twenty, ' tag0 '] }).tags).toHaveLength(20);
    expect(problems({ tags: [...twenty, 'tag20'] })).toEqual([{ path: ['tags'], message: 'at most 20 tags' }]);
  });
});

describe('validateTokenFields: text PostgreSQL cannot store', () => {
  it('refuses NUL and lone surrogates wherever the field has a grammar', () => {
    expect(refusedPaths({ name: 'deploy\u0000', permissions: ['tools.read\u0000', 'tools.\ud800'], ipRestrictions: ['10.0.0.1\u0000', '10.0.0.1\udc00'] })).toEqual([
      'name',
      'permissions.0',
      'permissions.1',
      'ipRestrictions.0',
      'ipRestrictions.1',
    ]);
  });

  it('leaves free text to the GraphQL text-input plugin, which refuses it before any resolver runs', () => {
    // validateTokenFields keeps such text as given; test/security/input-properties.test.ts shows
    // that it never gets this far through the API.
    expect(accepted({ name: 'a\ud800', description: 'b\u0000', serverId: 'c\udfff', tags: ['d\u0000'] })).toEqual({
      name: 'a\ud800',
      description: 'b\u0000',
      serverId: 'c\udfff',
      tags: ['d\u0000'],
    });
  });
});

describe('validateTokenFields: all problems at once', () => {
  it('reports every problem, in the order of the fields, and throws one ValidationError', () => {
    let thrown: unknown;
    try {
      validateTokenFields({ name: '', ipRestrictions: ['1.2.3'], tags: [''], expiresInDays: 400 }, policy(), 'update');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.fieldErrors.map((p) => p.path.join('.'))).toEqual(['name', 'ipRestrictions.0', 'tags.0', 'expiresInDays']);
    expect(error.message).toBe(error.fieldErrors.map((p) => p.message).join('; '));
  });

  it('returns only the keys the input set', () => {
    expect(Object.keys(accepted({ name: 'x', tags: [], usageLimits: null }))).toEqual(['name', 'tags', 'usageLimits']);
  });
});

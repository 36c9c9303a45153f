import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasValidChecksum, hashSecret } from '../../src/modules/token/token.secret.js';
import { createTestApp, mintToken, revokeToken, type TestApp } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const DAY = 86_400_000;

describe('mintToken: happy', () => {
  it('returns the token and its secret once, with every field as given', async () => {
    const alice = await t.user({ permissions: ['tools.*', 'files.read'] });
    const before = Date.now();
    const minted = await mintToken(t, alice.jwt, {
      name: '  Claude desktop  ',
      description: 'MCP client on my laptop',
      permissions: ['tools.read', 'files.read'],
      serverId: 'mcp-prod',
      ipRestrictions: ['10.0.0.0/8', '2001:DB8::/32', '192.168.1.7'],
      tags: ['ai', 'laptop'],
      timeRestrictions: { daysOfWeek: ['FRIDAY', 'MONDAY'], startTime: '22:00', endTime: '06:00', timeZone: 'Europe/Paris' },
      usageLimits: { requestsPerMinute: 10, maxTotalRequests: 1000 },
      expiresInDays: 7,
    });
    expect(minted.__typename).toBe('MintTokenPayload');
    const { token, secret } = minted;
    expect(secret).toMatch(/^km_[0-9A-Za-z]{49}$/);
    expect(hasValidChecksum('km', secret)).toBe(true);
    expect(token.prefix).toBe(secret.slice(0, 12));
    expect(token.id).toMatch(/^tok_[0-9a-f-]{36}$/);
    expect(token).toMatchObject({
      name: 'Claude desktop',
      description: 'MCP client on my laptop',
      status: 'ACTIVE',
      permissions: ['tools.read', 'files.read'],
      serverId: 'mcp-prod',
      ipRestrictions: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'],
      tags: ['ai', 'laptop'],
      timeRestrictions: { daysOfWeek: ['MONDAY', 'FRIDAY'], startTime: '22:00', endTime: '06:00', timeZone: 'Europe/Paris' },
      usageLimits: { requestsPerMinute: 10, requestsPerHour: null, requestsPerDay: null, maxTotalRequests: 1000 },
      owner: { email: alice.email },
      team: null,
      revocation: null,
      lastUsedAt: null,
      usageCount: 0,
    });
    const expiresAt = Date.parse(token.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 7 * DAY);
  });

  it('stores only the SHA-256 digest: the secret is nowhere in the database', async () => {
    const alice = await t.user();
    const { secret, token } = await mintToken(t, alice.jwt, { name: 'stored' });
    const rows = await t.orm.em.getConnection().execute(`select * from tokens where prefix = ?`, [token.prefix]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secret_hash).toBe(hashSecret(secret));
    const dump = JSON.stringify(
      await t.orm.em.getConnection().execute(`select t.*, r.* from tokens t left join revocations r on r.token_id = t.id`),
    );
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(12));
  });

  it('an empty permission list is allowed to anyone (it inherits at use time)', async () => {
    const nobody = await t.user({ permissions: [] });
    const minted = await mintToken(t, nobody.jwt, { name: 'inherits', permissions: [] });
    expect(minted.__typename).toBe('MintTokenPayload');
    expect(minted.token.permissions).toEqual([]);
  });

  it('accepts an explicit expiresAt within the maximum lifetime', async () => {
    const alice = await t.user();
    const expiresAt = new Date(Date.now() + 3 * DAY).toISOString();
    const minted = await mintToken(t, alice.jwt, { name: 'dated', expiresInDays: undefined, expiresAt });
    expect(minted.token.expiresAt).toBe(expiresAt);
  });

  it('reuses the name of a revoked token', async () => {
    const alice = await t.user();
    const first = await mintToken(t, alice.jwt, { name: 'deploy' });
    await revokeToken(t, alice.jwt, { id: first.token.id });
    const second = await mintToken(t, alice.jwt, { name: 'deploy' });
    expect(second.__typename).toBe('MintTokenPayload');
    expect(second.token.id).not.toBe(first.token.id);
  });

  it('the same name is fine for two different users', async () => {
    const [a, b] = [await t.user(), await t.user()];
    expect((await mintToken(t, a.jwt, { name: 'ci' })).__typename).toBe('MintTokenPayload');
    expect((await mintToken(t, b.jwt, { name: 'ci' })).__typename).toBe('MintTokenPayload');
  });
});

describe('mintToken: errors', () => {
  it.each([
    [{ name: '   ' }, ['name']],
    [{ name: 'x'.repeat(65) }, ['name']],
    [{ name: 'ok', description: 'd'.repeat(501) }, ['description']],
    [{ name: 'ok', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, ['tags']],
    [{ name: 'ok', tags: ['fine', 'x'.repeat(33)] }, ['tags', '1']],
    [{ name: 'ok', tags: [''] }, ['tags', '0']],
    [{ name: 'ok', serverId: 's'.repeat(129) }, ['serverId']],
    [{ name: 'ok', ipRestrictions: ['10.0.0.0/8', '300.1.1.1'] }, ['ipRestrictions', '1']],
    [{ name: 'ok', ipRestrictions: ['10.0.0.0/33'] }, ['ipRestrictions', '0']],
    [{ name: 'ok', ipRestrictions: ['localhost'] }, ['ipRestrictions', '0']],
    [{ name: 'ok', permissions: ['Tools.Read'] }, ['permissions', '0']],
    [{ name: 'ok', permissions: ['tools'] }, ['permissions', '0']],
    [{ name: 'ok', expiresInDays: 0 }, ['expiresInDays']],
    [{ name: 'ok', expiresInDays: 366 }, ['expiresInDays']],
    [{ name: 'ok', expiresInDays: 5, expiresAt: new Date(Date.now() + DAY).toISOString() }, ['expiresAt']],
    [{ name: 'ok', expiresInDays: undefined, expiresAt: new Date(Date.now() - 1000).toISOString() }, ['expiresAt']],
    [{ name: 'ok', expiresInDays: undefined, expiresAt: new Date(Date.now() + 400 * DAY).toISOString() }, ['expiresAt']],
    [{ name: 'ok', timeRestrictions: { startTime: '25:00', endTime: '06:00' } }, ['timeRestrictions', 'startTime']],
    [{ name: 'ok', timeRestrictions: { startTime: '09:00' } }, ['timeRestrictions', 'endTime']],
    [{ name: 'ok', timeRestrictions: { daysOfWeek: [] } }, ['timeRestrictions', 'daysOfWeek']],
    [{ name: 'ok', timeRestrictions: { timeZone: 'Mars/Olympus' } }, ['timeRestrictions', 'daysOfWeek']],
    [{ name: 'ok', timeRestrictions: { daysOfWeek: ['MONDAY'], timeZone: 'Mars/Olympus' } }, ['timeRestrictions', 'timeZone']],
    [{ name: 'ok', usageLimits: { requestsPerMinute: 0 } }, ['usageLimits', 'requestsPerMinute']],
    [{ name: 'ok', usageLimits: {} }, ['usageLimits']],
  ])('%j is a ValidationError at %j and creates nothing', async (input, path) => {
    const alice = await t.user({ permissions: ['tools.*'] });
    const result = await mintToken(t, alice.jwt, input);
    expect(result.__typename).toBe('ValidationError');
    expect(result.fieldErrors.map((e: { path: string[] }) => e.path)).toContainEqual(path);
    const list = await t.gql(`{ tokens(includeInactive: true) { totalCount } }`, {}, { token: alice.jwt });
    expect(list.data.tokens.totalCount).toBe(0);
  });

  it('names MAX_TOKEN_LIFETIME_DAYS when the expiry is too far', async () => {
    const alice = await t.user();
    const result = await mintToken(t, alice.jwt, { name: 'far', expiresInDays: 1000 });
    expect(result.message).toContain('MAX_TOKEN_LIFETIME_DAYS');
    expect(result.message).toContain('365');
  });

  it('requires an expiry by default', async () => {
    const alice = await t.user();
    const result = await mintToken(t, alice.jwt, { name: 'forever', expiresInDays: undefined });
    expect(result.__typename).toBe('ValidationError');
    expect(result.message).toMatch(/expir/i);
  });

  it('reports every problem at once', async () => {
    const alice = await t.user();
    const result = await mintToken(t, alice.jwt, { name: '', tags: [''], ipRestrictions: ['nope'] });
    expect(result.fieldErrors.map((e: { path: string[] }) => e.path[0]).sort()).toEqual(['ipRestrictions', 'name', 'tags']);
  });

  it('a second active token with the same name is a ConflictError', async () => {
    const alice = await t.user();
    await mintToken(t, alice.jwt, { name: 'deploy' });
    const again = await mintToken(t, alice.jwt, { name: ' deploy ' });
    expect(again.__typename).toBe('ConflictError');
    expect(again.message).toContain('deploy');
  });

  it('two concurrent mints of one name: exactly one succeeds, the other is a ConflictError', async () => {
    const alice = await t.user();
    const results = await Promise.all(Array.from({ length: 6 }, () => mintToken(t, alice.jwt, { name: 'race' })));
    const kinds = results.map((r) => r.__typename).sort();
    expect(kinds.filter((k) => k === 'MintTokenPayload')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ConflictError')).toHaveLength(5);
  });

  it('an unknown or malformed teamId is NotFoundError', async () => {
    const alice = await t.user();
    for (const teamId of ['team_6f1c1d3e-1111-4222-8333-944445555666', 'garbage', 'tok_6f1c1d3e-1111-4222-8333-944445555666']) {
      const result = await mintToken(t, alice.jwt, { name: `team ${teamId}`, teamId });
      expect(result.__typename).toBe('NotFoundError');
    }
  });
});

describe('mintToken: containment', () => {
  it.each([
    { held: [], wanted: ['tools.read'], ok: false },
    { held: ['tools.read'], wanted: ['tools.execute'], ok: false },
    { held: ['tools.*'], wanted: ['tools.read'], ok: true },
    { held: ['tools.*'], wanted: ['tools.*'], ok: true },
    { held: ['tools.*'], wanted: ['*'], ok: false },
    { held: ['tools.read'], wanted: ['tools.*'], ok: false },
    { held: ['*'], wanted: ['*', 'anything.goes'], ok: true },
  ])('holding $held, granting $wanted: ok=$ok', async ({ held, wanted, ok }) => {
    const user = await t.user({ permissions: held });
    const result = await mintToken(t, user.jwt, { name: 'scoped', permissions: wanted });
    if (ok) {
      expect(result.__typename).toBe('MintTokenPayload');
    } else {
      expect(result.__typename).toBe('ValidationError');
      const missing = wanted.find((w) => !held.some((h) => h === w || h === '*' || (h.endsWith('.*') && w.startsWith(h.slice(0, -1)) && w !== '*')));
      expect(result.message).toContain(`'${missing}'`);
    }
  });

  it('an admin holds everything', async () => {
    const admin = await t.user({ admin: true });
    const result = await mintToken(t, admin.jwt, { name: 'root', permissions: ['*'] });
    expect(result.__typename).toBe('MintTokenPayload');
  });
});

describe('mintToken: configuration', () => {
  it('with REQUIRE_TOKEN_EXPIRY=false a token may have no expiry', async () => {
    const lax = await createTestApp({ env: { REQUIRE_TOKEN_EXPIRY: 'false', MAX_TOKEN_LIFETIME_DAYS: '30', TOKEN_PREFIX: 'acme' } });
    try {
      const alice = await lax.user();
      const minted = await mintToken(lax, alice.jwt, { name: 'forever', expiresInDays: undefined });
      expect(minted.__typename).toBe('MintTokenPayload');
      expect(minted.token.expiresAt).toBeNull();
      expect(minted.secret.startsWith('acme_')).toBe(true);
      const tooLong = await mintToken(lax, alice.jwt, { name: 'long', expiresInDays: 31 });
      expect(tooLong.message).toContain('30');
    } finally {
      await lax.close();
    }
  });
});

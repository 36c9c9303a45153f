import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import {
  createTestApp,
  mintToken,
  resourceServer,
  revokeToken,
  updateToken,
  VERIFY,
  verifyToken,
  type TestApp,
} from '../harness.js';
import { testClock } from '../support/test-clock.js';

const DAY = 86_400_000;
// A Wednesday, 12:00 UTC.
const START = Date.parse('2026-11-18T12:00:00.000Z');
const clock = testClock(START);
let t: TestApp;
let caller: string;

beforeAll(async () => {
  t = await createTestApp({ clock });
  caller = (await resourceServer(t)).secret;
});
afterAll(async () => t?.close());

async function minted(input: Record<string, unknown>, permissions = ['tools.*', 'files.read']) {
  const owner = await t.user({ permissions });
  const result = await mintToken(t, owner.jwt, { name: 'target', ...input });
  expect(result.__typename).toBe('MintTokenPayload');
  return { owner, token: result.token, secret: result.secret as string };
}

describe('verifyToken: who may call it', () => {
  it('needs credentials: UNAUTHENTICATED (401)', async () => {
    const response = await t.gql(VERIFY, { input: { token: 'km_x' } });
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a session without tokens.verify is FORBIDDEN (403)', async () => {
    const user = await t.user({ permissions: ['tools.*'] });
    const response = await t.gql(VERIFY, { input: { token: 'km_x' } }, { token: user.jwt });
    expect(response.status).toBe(403);
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(response.errors?.[0]?.message).toContain('tokens.verify');
  });

  it('an API token with an empty list is FORBIDDEN, even if its owner holds tokens.verify', async () => {
    const owner = await t.user({ permissions: ['tokens.verify'] });
    const { secret } = await mintToken(t, owner.jwt, { name: 'inherits', permissions: [] });
    const response = await t.gql(VERIFY, { input: { token: 'km_x' } }, { token: secret });
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a session holding tokens.verify, an admin, and an API token naming it may verify', async () => {
    const verifier = await t.user({ permissions: ['tokens.verify'] });
    const admin = await t.user({ admin: true });
    for (const credential of [verifier.jwt, admin.jwt, caller]) {
      expect((await verifyToken(t, credential, { token: 'km_nope' })).outcome).toBe('MALFORMED');
    }
  });
});

describe('verifyToken: outcomes', () => {
  it('VALID: what the token is and what it may do', async () => {
    const { owner, token, secret } = await minted({ permissions: ['tools.read'], expiresInDays: 10 });
    const ownerId = (await t.gql(`{ viewer { id } }`, {}, { token: owner.jwt })).data.viewer.id;
    const result = await verifyToken(t, caller, { token: secret, requiredPermissions: ['tools.read'] });
    expect(result).toEqual({
      valid: true,
      outcome: 'VALID',
      verificationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      tokenId: token.id,
      prefix: token.prefix,
      name: 'target',
      permissions: ['tools.read'],
      ownerId,
      teamId: null,
      expiresAt: token.expiresAt,
      remaining: null,
      retryAfterSeconds: null,
    });
  });

  it('MALFORMED: wrong shape or checksum, decided without any database work', async () => {
    const { secret } = generateSecret('km');
    const forged = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    // Warm the caller's own token into the cache, so that only the target's check is measured.
    await verifyToken(t, caller, { token: 'warm-up' });
    for (const token of [forged, 'hello', '', 'km_', `${secret}x`]) {
      const { result, statements } = await t.countStatements(() => verifyToken(t, caller, { token }));
      expect(result).toMatchObject({ valid: false, outcome: 'MALFORMED', verificationId: null, tokenId: null, permissions: [] });
      expect(statements).toEqual([]);
    }
  });

  it('NOT_FOUND: well-formed, but no such token; asking again is answered from memory', async () => {
    const { secret } = generateSecret('km');
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('NOT_FOUND');
    const { result, statements } = await t.countStatements(() => verifyToken(t, caller, { token: secret }));
    expect(result.outcome).toBe('NOT_FOUND');
    expect(statements).toEqual([]);
  });

  it('REVOKED: the moment revokeToken returns, even with the token cached', async () => {
    const { owner, token, secret } = await minted({});
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('VALID');
    await revokeToken(t, owner.jwt, { id: token.id });
    const result = await verifyToken(t, caller, { token: secret });
    expect(result).toMatchObject({ valid: false, outcome: 'REVOKED', tokenId: token.id, permissions: [] });
    expect(result.verificationId).toBeTruthy();
  });

  it('EXPIRED: once the clock passes expiresAt, even with the token cached', async () => {
    const { secret } = await minted({ expiresInDays: 1 });
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('VALID');
    await clock.at(START + DAY, async () => {
      expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('EXPIRED');
    });
  });

  it('WRONG_SERVER: a bound token needs its server, and fails closed without one', async () => {
    const { secret } = await minted({ serverId: 'mcp-prod' });
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('WRONG_SERVER');
    expect((await verifyToken(t, caller, { token: secret, serverId: 'mcp-staging' })).outcome).toBe('WRONG_SERVER');
    expect((await verifyToken(t, caller, { token: secret, serverId: 'mcp-prod' })).outcome).toBe('VALID');
  });

  it('IP_NOT_ALLOWED: IPv4 and IPv6 ranges, IPv4-mapped IPv6, and fail closed without an address', async () => {
    const { secret } = await minted({ ipRestrictions: ['10.0.0.0/8', '2001:db8::/32'] });
    const outcome = async (clientIp?: string) => (await verifyToken(t, caller, { token: secret, clientIp })).outcome;
    expect(await outcome()).toBe('IP_NOT_ALLOWED');
    expect(await outcome('192.168.0.1')).toBe('IP_NOT_ALLOWED');
    expect(await outcome('10.1.2.3')).toBe('VALID');
    expect(await outcome('::ffff:10.1.2.3')).toBe('VALID');
    expect(await outcome('2001:db8:ffff::1')).toBe('VALID');
    expect(await outcome('2001:db9::1')).toBe('IP_NOT_ALLOWED');
  });

  it('OUTSIDE_TIME_WINDOW: days, hours, time zone and windows across midnight', async () => {
    const { secret } = await minted({
      timeRestrictions: { daysOfWeek: ['FRIDAY'], startTime: '22:00', endTime: '06:00', timeZone: 'America/New_York' },
    });
    const at = (instant: string) => clock.at(instant, async () => (await verifyToken(t, caller, { token: secret })).outcome);
    // New York is UTC-5 in November. Friday 2026-11-20 23:00 local = Saturday 04:00Z.
    expect(await at('2026-11-21T04:00:00Z')).toBe('VALID');
    // Saturday 03:00 local (still Friday's night) = 08:00Z.
    expect(await at('2026-11-21T08:00:00Z')).toBe('VALID');
    // Saturday 07:00 local: the window has ended.
    expect(await at('2026-11-21T12:00:00Z')).toBe('OUTSIDE_TIME_WINDOW');
    // Thursday 23:00 local: right hours, wrong day.
    expect(await at('2026-11-20T04:00:00Z')).toBe('OUTSIDE_TIME_WINDOW');
  });

  it('INSUFFICIENT_PERMISSIONS: containment with wildcards, against what the token holds now', async () => {
    const { secret } = await minted({ permissions: ['tools.*'] });
    const outcome = async (requiredPermissions: string[]) =>
      (await verifyToken(t, caller, { token: secret, requiredPermissions })).outcome;
    expect(await outcome(['tools.read', 'tools.execute'])).toBe('VALID');
    expect(await outcome(['files.read'])).toBe('INSUFFICIENT_PERMISSIONS');
    expect(await outcome(['*'])).toBe('INSUFFICIENT_PERMISSIONS');
  });

  it("an empty list verifies with the owner's permissions at use time", async () => {
    const { owner, secret } = await minted({ permissions: [] }, ['tools.read']);
    expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['tools.read'] })).permissions).toEqual([
      'tools.read',
    ]);
    expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['files.read'] })).outcome).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    // The owner signs in again with fewer permissions: the token shrinks with them, at once.
    const demoted = await t.user({ subject: owner.subject, email: owner.email, permissions: [] });
    await t.gql(`{ viewer { id } }`, {}, { token: demoted.jwt });
    expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['tools.read'] })).outcome).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
  });

  it('the checks run in order: a revoked token is REVOKED whatever else is wrong', async () => {
    const { owner, token, secret } = await minted({ serverId: 'x', ipRestrictions: ['10.0.0.0/8'] });
    await revokeToken(t, owner.jwt, { id: token.id });
    expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['nope.nope'] })).outcome).toBe('REVOKED');
  });

  it('an update is seen by the next verification', async () => {
    const { owner, token, secret } = await minted({ permissions: ['tools.read'] });
    expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['tools.read'] })).outcome).toBe('VALID');
    await updateToken(t, owner.jwt, { id: token.id, permissions: ['files.read'] });
    expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['tools.read'] })).outcome).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
  });
});

describe('verifyToken: limits', () => {
  it('RATE_LIMITED: 10 per minute, 50 concurrent verifications give exactly 10 VALID', async () => {
    const { secret } = await minted({ usageLimits: { requestsPerMinute: 10 } });
    const results = await Promise.all(Array.from({ length: 50 }, () => verifyToken(t, caller, { token: secret })));
    const valid = results.filter((r) => r.outcome === 'VALID');
    expect(valid).toHaveLength(10);
    expect(valid.map((r) => r.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const limited = results.filter((r) => r.outcome === 'RATE_LIMITED');
    expect(limited).toHaveLength(40);
    for (const r of limited) {
      expect(r.remaining).toBe(0);
      expect(r.retryAfterSeconds).toBeGreaterThan(0);
      expect(r.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
  });

  it('USAGE_EXCEEDED: a lifetime quota holds exactly under concurrency, and across a restart', async () => {
    const { token, secret } = await minted({ usageLimits: { maxTotalRequests: 7 } });
    const results = await Promise.all(Array.from({ length: 20 }, () => verifyToken(t, caller, { token: secret })));
    expect(results.filter((r) => r.outcome === 'VALID')).toHaveLength(7);
    const exceeded = results.filter((r) => r.outcome === 'USAGE_EXCEEDED');
    expect(exceeded).toHaveLength(13);
    expect(exceeded.every((r) => r.remaining === 0)).toBe(true);
    const count = await t.orm.em.getConnection().execute(`select usage_count from tokens where id = ?`, [token.id.slice(4)]);
    expect(Number(count[0]!.usage_count)).toBe(7);

    // A restarted instance (fresh caches and counters, same database) still refuses.
    const restarted = createApp({ config: t.config, orm: t.orm, logger: createLogger(t.config), clock });
    try {
      expect((await restarted.verifier.verify(secret)).outcome).toBe('USAGE_EXCEEDED');
    } finally {
      await restarted.close();
    }
  });

  it('a VALID answer for a limited token says what remains under the tightest limit', async () => {
    const { secret } = await minted({ usageLimits: { requestsPerHour: 100, maxTotalRequests: 3 } });
    const remaining = [];
    for (let i = 0; i < 4; i += 1) remaining.push((await verifyToken(t, caller, { token: secret })).remaining);
    expect(remaining).toEqual([2, 1, 0, 0]);
  });

  it('refused uses do not spend the limits', async () => {
    const { secret } = await minted({ usageLimits: { requestsPerMinute: 2 } });
    for (let i = 0; i < 5; i += 1) {
      expect((await verifyToken(t, caller, { token: secret, requiredPermissions: ['files.write'] })).outcome).toBe(
        'INSUFFICIENT_PERMISSIONS',
      );
    }
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('VALID');
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('VALID');
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('RATE_LIMITED');
  });

  it('a quota refusal gives back the rate-limit slot it took', async () => {
    const { secret } = await minted({ usageLimits: { requestsPerMinute: 3, maxTotalRequests: 1 } });
    expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('VALID');
    for (let i = 0; i < 5; i += 1) expect((await verifyToken(t, caller, { token: secret })).outcome).toBe('USAGE_EXCEEDED');
  });
});

describe('verifyToken: input', () => {
  it('an over-long serverId is BAD_USER_INPUT', async () => {
    const response = await t.gql(VERIFY, { input: { token: 'km_x', serverId: 'x'.repeat(129) } }, { token: caller });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a clientIp that is not an address is BAD_USER_INPUT naming it, and records nothing', async () => {
    const { secret } = await minted({});
    const response = await t.gql(VERIFY, { input: { token: secret, clientIp: 'garbage' } }, { token: caller });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toContain('clientIp');
    await t.app.usage.flush();
    const [row] = await t.orm.em.getConnection().execute(`select count(*)::int as n from usage_events where client_ip = 'garbage'`);
    expect(row?.n).toBe(0);
  });

  it('an invalid required permission is BAD_USER_INPUT', async () => {
    const response = await t.gql(VERIFY, { input: { token: 'km_x', requiredPermissions: ['Not A Permission'] } }, { token: caller });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

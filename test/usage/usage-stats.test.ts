import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, seedTeam, type TestApp, type TestUser } from '../harness.js';
import { testClock } from '../support/test-clock.js';
import { insertEvents, noUse, STATS_FIELDS, type SeedEvent } from './usage-fixtures.js';

/**
 * Usage figures against numbers worked out by hand. The clock is fixed at noon UTC on
 * 2026-03-15, so with days: 7 the period is 2026-03-09T00:00:00.000Z .. today (2026-03-15).
 * Events are seeded directly with SQL, so every figure below is known in advance.
 */
const FIXED = '2026-03-15T12:00:00.000Z';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock: testClock(FIXED) });
});
afterAll(async () => t?.close());

const TOKEN_USAGE = /* GraphQL */ `
  query TokenUsage($id: ID!, $days: Int, $limit: Int) {
    token(id: $id) {
      usage(days: $days) {
        periodDays totalRequests successfulRequests blockedRequests successRate averageResponseTimeMs
        topEndpoints(limit: $limit) { endpoint count }
        blockReasons { reason count }
        daily { date totalRequests blockedRequests }
      }
    }
  }
`;
const TOKEN_USAGE_DEFAULTS = /* GraphQL */ `
  query TokenUsageDefaults($id: ID!) { token(id: $id) { usage { ${STATS_FIELDS} } } }
`;
const VIEWER_USAGE = /* GraphQL */ `
  query ViewerUsage($days: Int) { viewer { usage(days: $days) { ${STATS_FIELDS} } } }
`;
const TEAM_USAGE = /* GraphQL */ `
  query TeamUsage($id: ID!, $days: Int) { node(id: $id) { __typename ... on Team { usage(days: $days) { ${STATS_FIELDS} } } } }
`;

async function tokenUsage(user: TestUser, id: string, variables: Record<string, unknown> = {}) {
  return t.gql(TOKEN_USAGE, { id, ...variables }, { token: user.jwt });
}

/**
 * Token A's events. Comments: in/out of the 7-day period, and whether each one is a success
 * (status < 400 when reported, else outcome VALID) or blocked.
 */
const TOKEN_A_EVENTS: SeedEvent[] = [
  // 1. one millisecond before the period starts: excluded from days: 7 (included in 30 and 366)
  { at: '2026-03-08T23:59:59.999Z', endpoint: '/excluded', statusCode: 200, responseTimeMs: 1000 },
  // 2. first instant of the period: success (200), 10 ms
  { at: '2026-03-09T00:00:00.000Z', endpoint: '/a', statusCode: 200, responseTimeMs: 10 },
  // 3. last millisecond of 03-10: VALID but answered 500, so a failure; 30 ms
  { at: '2026-03-10T23:59:59.999Z', endpoint: '/a', statusCode: 500, responseTimeMs: 30 },
  // 4. VALID but answered 404: a failure; 0 ms (a reported zero, not a missing value)
  { at: '2026-03-11T00:00:00.000Z', endpoint: '/b', statusCode: 404, responseTimeMs: 0 },
  // 5. VALID, nothing reported: a success, no response time
  { at: '2026-03-12T10:00:00.000Z', endpoint: '/b' },
  // 6. REVOKED: blocked, a failure
  { at: '2026-03-12T11:00:00.000Z', endpoint: '/a', outcome: 'REVOKED' },
  // 7, 8. INSUFFICIENT_PERMISSIONS twice: blocked, failures
  { at: '2026-03-13T09:00:00.000Z', endpoint: '/c', method: 'POST', outcome: 'INSUFFICIENT_PERMISSIONS' },
  { at: '2026-03-13T09:30:00.000Z', endpoint: '/c', method: 'POST', outcome: 'INSUFFICIENT_PERMISSIONS' },
  // 9. VALID, 200, no response time: a success
  { at: '2026-03-14T08:00:00.000Z', endpoint: '/c', statusCode: 200 },
  // 10. today, RATE_LIMITED with no endpoint: blocked, a failure, not in topEndpoints
  { at: '2026-03-15T00:00:00.000Z', endpoint: null, outcome: 'RATE_LIMITED' },
  // 11. today, shortly before "now": success (201), 20 ms
  { at: '2026-03-15T11:59:00.000Z', endpoint: '/a', statusCode: 201, responseTimeMs: 20 },
];

/** A user with token A (events above) and token B (two events, both in the 7-day period). */
async function seedAlice() {
  const alice = await t.user({ permissions: ['tools.*'] });
  const a = await mintToken(t, alice.jwt, { name: 'token A' });
  const b = await mintToken(t, alice.jwt, { name: 'token B' });
  const empty = await mintToken(t, alice.jwt, { name: 'token without events' });
  await insertEvents(t, a.token.id, TOKEN_A_EVENTS);
  await insertEvents(t, b.token.id, [
    // today: a success, 50 ms
    { at: '2026-03-15T01:00:00.000Z', endpoint: '/a', statusCode: 200, responseTimeMs: 50 },
    // yesterday: EXPIRED, blocked
    { at: '2026-03-14T01:00:00.000Z', endpoint: '/d', outcome: 'EXPIRED' },
  ]);
  return { alice, a: a.token.id as string, b: b.token.id as string, empty: empty.token.id as string };
}

const byReason = (rows: { reason: string; count: number }[]) => [...rows].sort((x, y) => x.reason.localeCompare(y.reason));

describe('Token.usage: happy', () => {
  it('computes every figure over the last 7 UTC days', async () => {
    const { alice, a } = await seedAlice();
    const response = await tokenUsage(alice, a, { days: 7 });
    expect(response.errors).toBeUndefined();
    const usage = response.data.token.usage;

    expect(usage.periodDays).toBe(7);
    // Events 2..11 are in the period; event 1 (03-08T23:59:59.999Z) is not.
    expect(usage.totalRequests).toBe(10);
    // Successes: 2 (200), 5 (VALID, nothing reported), 9 (200), 11 (201). Not 3 (VALID but 500) nor 4 (404).
    expect(usage.successfulRequests).toBe(4);
    // Blocked: 6 REVOKED, 7 and 8 INSUFFICIENT_PERMISSIONS, 10 RATE_LIMITED.
    expect(usage.blockedRequests).toBe(4);
    expect(usage.successRate).toBeCloseTo(0.4, 10); // 4 / 10
    // Reported response times in the period: 10, 30, 0, 20 -> 60 / 4. Event 1's 1000 ms is outside.
    expect(usage.averageResponseTimeMs).toBeCloseTo(15, 10);
    // /a: 2, 3, 6, 11 = 4; /c: 7, 8, 9 = 3; /b: 4, 5 = 2. Event 10 has no endpoint; /excluded is outside.
    expect(usage.topEndpoints).toEqual([
      { endpoint: '/a', count: 4 },
      { endpoint: '/c', count: 3 },
      { endpoint: '/b', count: 2 },
    ]);
    // By outcome: INSUFFICIENT_PERMISSIONS 2 (most first), then REVOKED 1 and RATE_LIMITED 1 in either order.
    expect(usage.blockReasons[0]).toEqual({ reason: 'INSUFFICIENT_PERMISSIONS', count: 2 });
    expect(byReason(usage.blockReasons)).toEqual([
      { reason: 'INSUFFICIENT_PERMISSIONS', count: 2 },
      { reason: 'RATE_LIMITED', count: 1 },
      { reason: 'REVOKED', count: 1 },
    ]);
    // One row per day, oldest first, today included; 23:59:59.999 belongs to its own day.
    expect(usage.daily).toEqual([
      { date: '2026-03-09', totalRequests: 1, blockedRequests: 0 }, // 2
      { date: '2026-03-10', totalRequests: 1, blockedRequests: 0 }, // 3
      { date: '2026-03-11', totalRequests: 1, blockedRequests: 0 }, // 4
      { date: '2026-03-12', totalRequests: 2, blockedRequests: 1 }, // 5, 6
      { date: '2026-03-13', totalRequests: 2, blockedRequests: 2 }, // 7, 8
      { date: '2026-03-14', totalRequests: 1, blockedRequests: 0 }, // 9
      { date: '2026-03-15', totalRequests: 2, blockedRequests: 1 }, // 10, 11
    ]);
  });

  it('topEndpoints(limit) keeps the busiest ones, and the default is 5', async () => {
    const { alice, a } = await seedAlice();
    const two = await tokenUsage(alice, a, { days: 7, limit: 2 });
    expect(two.data.token.usage.topEndpoints).toEqual([
      { endpoint: '/a', count: 4 },
      { endpoint: '/c', count: 3 },
    ]);
    const one = await tokenUsage(alice, a, { days: 7, limit: 1 });
    expect(one.data.token.usage.topEndpoints).toEqual([{ endpoint: '/a', count: 4 }]);
    const hundred = await tokenUsage(alice, a, { days: 7, limit: 100 });
    expect(hundred.errors).toBeUndefined();
    expect(hundred.data.token.usage.topEndpoints).toHaveLength(3);

    // Six distinct endpoints today on a fresh token: the default keeps the first five.
    const six = await mintToken(t, alice.jwt, { name: 'six endpoints' });
    const events: SeedEvent[] = [];
    ['/e1', '/e2', '/e3', '/e4', '/e5', '/e6'].forEach((endpoint, i) => {
      for (let n = 0; n < 6 - i; n += 1) events.push({ at: '2026-03-15T06:00:00.000Z', endpoint });
    });
    await insertEvents(t, six.token.id, events);
    const defaults = await t.gql(TOKEN_USAGE_DEFAULTS, { id: six.token.id }, { token: alice.jwt });
    expect(defaults.data.token.usage.topEndpoints).toEqual([
      { endpoint: '/e1', count: 6 },
      { endpoint: '/e2', count: 5 },
      { endpoint: '/e3', count: 4 },
      { endpoint: '/e4', count: 3 },
      { endpoint: '/e5', count: 2 },
    ]);
  });

  it('defaults to 30 days, and reaches back to 366', async () => {
    const { alice, a } = await seedAlice();
    const defaults = await t.gql(TOKEN_USAGE_DEFAULTS, { id: a }, { token: alice.jwt });
    expect(defaults.errors).toBeUndefined();
    // 30 days: 2026-02-14 .. 2026-03-15, so event 1 (03-08) is in: 11 events, 5 successes.
    expect(defaults.data.token.usage.periodDays).toBe(30);
    expect(defaults.data.token.usage.totalRequests).toBe(11);
    expect(defaults.data.token.usage.successfulRequests).toBe(5);
    // (1000 + 10 + 30 + 0 + 20) / 5
    expect(defaults.data.token.usage.averageResponseTimeMs).toBeCloseTo(212, 10);
    expect(defaults.data.token.usage.daily).toHaveLength(30);
    expect(defaults.data.token.usage.daily[0].date).toBe('2026-02-14');
    expect(defaults.data.token.usage.daily[29].date).toBe('2026-03-15');

    const year = await tokenUsage(alice, a, { days: 366 });
    expect(year.errors).toBeUndefined();
    expect(year.data.token.usage.periodDays).toBe(366);
    expect(year.data.token.usage.totalRequests).toBe(11);
    expect(year.data.token.usage.daily).toHaveLength(366);
    // 365 days before 2026-03-15 is 2025-03-15 (no 29 February in between).
    expect(year.data.token.usage.daily[0].date).toBe('2025-03-15');
    expect(year.data.token.usage.daily[365].date).toBe('2026-03-15');
    const dailySum = year.data.token.usage.daily.reduce((sum: number, d: any) => sum + d.totalRequests, 0);
    expect(dailySum).toBe(11);
  });

  it('days: 1 is today only', async () => {
    const { alice, a } = await seedAlice();
    const response = await tokenUsage(alice, a, { days: 1 });
    const usage = response.data.token.usage;
    // Events 10 (RATE_LIMITED at 00:00) and 11 (201, 20 ms).
    expect(usage).toEqual({
      periodDays: 1,
      totalRequests: 2,
      successfulRequests: 1,
      blockedRequests: 1,
      successRate: 0.5,
      averageResponseTimeMs: 20,
      topEndpoints: [{ endpoint: '/a', count: 1 }],
      blockReasons: [{ reason: 'RATE_LIMITED', count: 1 }],
      daily: [{ date: '2026-03-15', totalRequests: 2, blockedRequests: 1 }],
    });
  });

  it('a token without events has zeros, a null average, empty lists and zero-filled days', async () => {
    const { alice, empty } = await seedAlice();
    const response = await tokenUsage(alice, empty, { days: 7 });
    expect(response.errors).toBeUndefined();
    expect(response.data.token.usage).toEqual(noUse('2026-03-15', 7));
  });

  it('a token whose events are all outside the period looks like one without events', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'old only' });
    await insertEvents(t, token.id, [
      { at: '2026-03-13T23:59:59.999Z', endpoint: '/old', statusCode: 200, responseTimeMs: 5 },
      { at: '2026-03-01T10:00:00.000Z', endpoint: '/old', outcome: 'REVOKED' },
    ]);
    const response = await tokenUsage(alice, token.id, { days: 1 });
    expect(response.data.token.usage).toEqual(noUse('2026-03-15', 1));
  });

  it("Viewer.usage sums all of the viewer's tokens and nobody else's", async () => {
    const { alice } = await seedAlice();
    // Another user's busy token must not leak into alice's figures.
    const bob = await t.user();
    const bobs = await mintToken(t, bob.jwt, { name: 'bob token' });
    await insertEvents(t, bobs.token.id, [
      { at: '2026-03-15T02:00:00.000Z', endpoint: '/bob', statusCode: 200, responseTimeMs: 999 },
      { at: '2026-03-15T03:00:00.000Z', endpoint: '/bob', outcome: 'IP_NOT_ALLOWED' },
    ]);

    const response = await t.gql(VIEWER_USAGE, { days: 7 }, { token: alice.jwt });
    expect(response.errors).toBeUndefined();
    const usage = response.data.viewer.usage;
    // Token A (10 in period) + token B (2).
    expect(usage.totalRequests).toBe(12);
    // A: 4 successes, B: 1 (200).
    expect(usage.successfulRequests).toBe(5);
    // A: 4 blocked, B: 1 (EXPIRED).
    expect(usage.blockedRequests).toBe(5);
    expect(usage.successRate).toBeCloseTo(5 / 12, 10);
    // (10 + 30 + 0 + 20 + 50) / 5
    expect(usage.averageResponseTimeMs).toBeCloseTo(22, 10);
    expect(usage.topEndpoints).toEqual([
      { endpoint: '/a', count: 5 },
      { endpoint: '/c', count: 3 },
      { endpoint: '/b', count: 2 },
      { endpoint: '/d', count: 1 },
    ]);
    expect(byReason(usage.blockReasons)).toEqual([
      { reason: 'EXPIRED', count: 1 },
      { reason: 'INSUFFICIENT_PERMISSIONS', count: 2 },
      { reason: 'RATE_LIMITED', count: 1 },
      { reason: 'REVOKED', count: 1 },
    ]);
    expect(usage.daily).toEqual([
      { date: '2026-03-09', totalRequests: 1, blockedRequests: 0 },
      { date: '2026-03-10', totalRequests: 1, blockedRequests: 0 },
      { date: '2026-03-11', totalRequests: 1, blockedRequests: 0 },
      { date: '2026-03-12', totalRequests: 2, blockedRequests: 1 },
      { date: '2026-03-13', totalRequests: 2, blockedRequests: 2 },
      { date: '2026-03-14', totalRequests: 2, blockedRequests: 1 }, // + B's EXPIRED
      { date: '2026-03-15', totalRequests: 3, blockedRequests: 1 }, // + B's 200
    ]);

    // And bob sees only his own.
    const bobsView = await t.gql(VIEWER_USAGE, { days: 7 }, { token: bob.jwt });
    expect(bobsView.data.viewer.usage.totalRequests).toBe(2);
    expect(bobsView.data.viewer.usage.blockReasons).toEqual([{ reason: 'IP_NOT_ALLOWED', count: 1 }]);
  });

  it('a viewer without tokens gets zeros', async () => {
    const carol = await t.user();
    const response = await t.gql(VIEWER_USAGE, { days: 3 }, { token: carol.jwt });
    expect(response.errors).toBeUndefined();
    expect(response.data.viewer.usage).toEqual(noUse('2026-03-15', 3));
  });
});

describe('usage: errors', () => {
  it.each([0, -1, 367, 10_000])('days: %i is BAD_USER_INPUT on Token, Viewer and Team', async (days) => {
    const { alice, a } = await seedAlice();
    const teamId = await seedTeam(t, 'Bounds', [{ user: alice, role: 'OWNER' }]);
    for (const response of [
      await tokenUsage(alice, a, { days }),
      await t.gql(VIEWER_USAGE, { days }, { token: alice.jwt }),
      await t.gql(TEAM_USAGE, { id: teamId, days }, { token: alice.jwt }),
    ]) {
      expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(/days/);
    }
  });

  it.each([0, -3, 101])('topEndpoints(limit: %i) is BAD_USER_INPUT', async (limit) => {
    const { alice, a } = await seedAlice();
    const response = await tokenUsage(alice, a, { days: 7, limit });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toMatch(/limit/);
  });
});

describe('usage: security', () => {
  it("another user's token usage is not reachable: the token is absent", async () => {
    const { a } = await seedAlice();
    const mallory = await t.user();
    const response = await tokenUsage(mallory, a, { days: 7 });
    expect(response.data?.token ?? null).toBeNull();
    expect(JSON.stringify(response.body)).not.toContain('/excluded');
  });

  it('without credentials there are no figures', async () => {
    const response = await t.gql(VIEWER_USAGE, { days: 7 });
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.data ?? null).toBeNull();
  });

  it("Team.usage: an OWNER gets the team's figures, a MEMBER is FORBIDDEN, an outsider sees no team", async () => {
    const [olivia, mia, oscar] = [await t.user(), await t.user(), await t.user()];
    const teamId = await seedTeam(t, 'Platform', [
      { user: olivia, role: 'OWNER' },
      { user: mia, role: 'MEMBER' },
    ]);
    const byOwner = await mintToken(t, olivia.jwt, { name: 'deploy', teamId });
    const byMember = await mintToken(t, mia.jwt, { name: 'ci', teamId });
    const personal = await mintToken(t, olivia.jwt, { name: 'personal' });
    expect([byOwner.__typename, byMember.__typename, personal.__typename]).toEqual([
      'MintTokenPayload',
      'MintTokenPayload',
      'MintTokenPayload',
    ]);
    await insertEvents(t, byOwner.token.id, [
      { at: '2026-03-15T08:00:00.000Z', endpoint: '/deploy', statusCode: 200, responseTimeMs: 100 },
      { at: '2026-03-15T09:00:00.000Z', endpoint: '/deploy', statusCode: 503, responseTimeMs: 300 },
    ]);
    await insertEvents(t, byMember.token.id, [{ at: '2026-03-14T08:00:00.000Z', endpoint: '/build', outcome: 'WRONG_SERVER' }]);
    // Personal tokens of a team owner are not the team's.
    await insertEvents(t, personal.token.id, [{ at: '2026-03-15T08:00:00.000Z', endpoint: '/mine' }]);

    const owner = await t.gql(TEAM_USAGE, { id: teamId, days: 2 }, { token: olivia.jwt });
    expect(owner.errors).toBeUndefined();
    // Both members' team tokens: 3 uses; a success (200), a failure (503), a blocked WRONG_SERVER.
    expect(owner.data.node).toEqual({
      __typename: 'Team',
      usage: {
        periodDays: 2,
        totalRequests: 3,
        successfulRequests: 1,
        blockedRequests: 1,
        successRate: 1 / 3,
        averageResponseTimeMs: 200, // (100 + 300) / 2
        topEndpoints: [
          { endpoint: '/deploy', count: 2 },
          { endpoint: '/build', count: 1 },
        ],
        blockReasons: [{ reason: 'WRONG_SERVER', count: 1 }],
        daily: [
          { date: '2026-03-14', totalRequests: 1, blockedRequests: 1 },
          { date: '2026-03-15', totalRequests: 2, blockedRequests: 0 },
        ],
      },
    });

    const member = await t.gql(TEAM_USAGE, { id: teamId, days: 2 }, { token: mia.jwt });
    expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(member.body)).not.toContain('/deploy');

    const outsider = await t.gql(TEAM_USAGE, { id: teamId, days: 2 }, { token: oscar.jwt });
    expect(outsider.body).toEqual({ data: { node: null } });
  });

  it('Team.usage with the short form `usage { totalRequests }` (default 30 days)', async () => {
    const olivia = await t.user();
    const teamId = await seedTeam(t, 'Short', [{ user: olivia, role: 'OWNER' }]);
    const { token } = await mintToken(t, olivia.jwt, { name: 'team token', teamId });
    await insertEvents(t, token.id, [
      { at: '2026-02-14T00:00:00.000Z' }, // first day of the 30-day period
      { at: '2026-02-13T23:59:59.999Z' }, // the day before: outside
    ]);
    const response = await t.gql(
      `query($id: ID!) { node(id: $id) { ... on Team { usage { totalRequests periodDays } } } }`,
      { id: teamId },
      { token: olivia.jwt },
    );
    expect(response.body).toEqual({ data: { node: { usage: { totalRequests: 1, periodDays: 30 } } } });
  });
});

describe('Token.usage on a page of tokens', () => {
  const PAGE = /* GraphQL */ `
    query Page($first: Int) {
      tokens(first: $first) {
        edges { node { name usage(days: 7) { totalRequests daily { date } topEndpoints { endpoint } blockReasons { reason } } } }
      }
    }
  `;

  it('costs the same number of statements for 3 tokens as for 12, with each token its own figures', async () => {
    const alice = await t.user();
    for (let i = 0; i < 12; i += 1) {
      const { token } = await mintToken(t, alice.jwt, { name: `page ${i}` });
      // Token i has i + 1 uses today, one of them blocked.
      await insertEvents(t, token.id, [
        { at: '2026-03-15T01:00:00.000Z', endpoint: `/t${i}`, outcome: 'REVOKED' },
        ...Array.from({ length: i }, () => ({ at: '2026-03-15T02:00:00.000Z', endpoint: `/t${i}` })),
      ]);
    }
    const run = async (first: number) => {
      const { result, statements } = await t.countStatements(() => t.gql(PAGE, { first }, { token: alice.jwt }));
      expect(result.errors).toBeUndefined();
      const nodes = result.data.tokens.edges.map((e: any) => e.node);
      expect(nodes).toHaveLength(first);
      for (const node of nodes) {
        const i = Number(node.name.slice('page '.length));
        expect(node.usage.totalRequests).toBe(i + 1);
        expect(node.usage.daily).toHaveLength(7);
        expect(node.usage.topEndpoints).toEqual([{ endpoint: `/t${i}` }]);
        expect(node.usage.blockReasons).toEqual([{ reason: 'REVOKED' }]);
      }
      return statements;
    };
    const three = await run(3);
    const twelve = await run(12);
    const usageStatements = (sql: string[]) => sql.filter((s) => /usage_events/.test(s));
    expect(usageStatements(three).length).toBeGreaterThan(0);
    expect(usageStatements(twelve).length).toBe(usageStatements(three).length);
    expect(twelve.length).toBe(three.length);
  });
});

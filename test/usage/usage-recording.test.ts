import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { createTestApp, mintToken, revokeToken, type TestApp, type TestUser } from '../harness.js';
import { testClock } from '../support/test-clock.js';
import { countEvents, eventById, eventsOf } from './usage-fixtures.js';

/**
 * Usage recorded through the real verification path. Nothing flushes by itself here (a 10-minute
 * interval and the default batch of 1,000), so each test decides when events reach the database.
 */
const MINUTE = 60_000;
const clock = testClock('2026-11-18T12:00:00.000Z');
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  t = await createTestApp({ clock, env: { USAGE_FLUSH_INTERVAL_MS: '600000' } });
  baseUrl = await t.listen();
});
afterAll(async () => t?.close());

const VERIFY = /* GraphQL */ `
  mutation Verify($input: VerifyTokenInput!) {
    verifyToken(input: $input) { valid outcome verificationId tokenId }
  }
`;
const REPORT = /* GraphQL */ `
  mutation Report($input: ReportUsageInput!) {
    reportUsage(input: $input) {
      __typename
      ... on ReportUsagePayload { verificationId }
      ... on ValidationError { message fieldErrors { path message } }
      ... on NotFoundError { message }
    }
  }
`;
const TOKEN_COUNTS = `query($id: ID!) { token(id: $id) { usageCount lastUsedAt } }`;

/** A resource server: a user allowed to verify, and an API token whose own list names tokens.verify. */
async function resourceServer() {
  const user = await t.user({ permissions: ['tokens.verify', 'tools.*'] });
  const minted = await mintToken(t, user.jwt, { name: 'resource server', permissions: ['tokens.verify'] });
  expect(minted.__typename).toBe('MintTokenPayload');
  return { user, secret: minted.secret as string, tokenId: minted.token.id as string };
}

/** Someone's token that the resource server will be shown. */
async function target(input: Record<string, unknown> = {}) {
  const owner = await t.user({ permissions: ['tools.*'] });
  const minted = await mintToken(t, owner.jwt, { name: 'target', permissions: ['tools.read'], ...input });
  expect(minted.__typename).toBe('MintTokenPayload');
  return { owner, secret: minted.secret as string, tokenId: minted.token.id as string };
}

async function verify(caller: string, input: Record<string, unknown>) {
  const response = await t.gql(VERIFY, { input }, { token: caller });
  expect(response.errors).toBeUndefined();
  return response.data.verifyToken as { valid: boolean; outcome: string; verificationId: string | null; tokenId: string | null };
}

async function report(caller: string, input: Record<string, unknown>) {
  return t.gql(REPORT, { input }, { token: caller });
}

async function countsOf(owner: TestUser, tokenId: string): Promise<{ usageCount: number; lastUsedAt: string | null }> {
  return (await t.gql(TOKEN_COUNTS, { id: tokenId }, { token: owner.jwt })).data.token;
}

const FACTS = { endpoint: '/api/tools', method: 'GET', clientIp: '203.0.113.7', userAgent: 'curl/8.5.0' };

describe('recording verifications: happy', () => {
  it('records every use with its request facts; only VALID ones count, in the flush', async () => {
    const rs = await resourceServer();
    const { owner, secret, tokenId } = await target();
    const valid: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      clock.advance(MINUTE);
      const result = await verify(rs.secret, { token: secret, ...FACTS });
      expect(result).toMatchObject({ valid: true, outcome: 'VALID', tokenId });
      valid.push(result.verificationId!);
    }
    const lastValidAt = clock().toISOString();
    clock.advance(MINUTE);
    const refused = await verify(rs.secret, {
      token: secret,
      requiredPermissions: ['tools.write'],
      endpoint: '/api/tools/1',
      method: 'DELETE',
      clientIp: '2001:db8::1',
      userAgent: 'admin-ui/2',
    });
    expect(refused).toMatchObject({ valid: false, outcome: 'INSUFFICIENT_PERMISSIONS', tokenId });
    expect(refused.verificationId).toMatch(/^[0-9a-f-]{36}$/);

    // Off the hot path: nothing is written, nothing counted, until the flush.
    expect(await countEvents(t, tokenId)).toBe(0);
    expect(await countsOf(owner, tokenId)).toEqual({ usageCount: 0, lastUsedAt: null });
    expect(t.app.usage.isWaiting(valid[0]!)).toBe(true);

    await t.app.usage.flush();

    const rows = await eventsOf(t, tokenId);
    expect(rows.map((r) => r.id)).toEqual([...valid, refused.verificationId]);
    for (const row of rows.slice(0, 3)) {
      expect(row).toMatchObject({
        endpoint: '/api/tools',
        method: 'GET',
        client_ip: '203.0.113.7',
        user_agent: 'curl/8.5.0',
        outcome: 'VALID',
        blocked: false,
        block_reason: null,
        status_code: null,
        response_time_ms: null,
      });
    }
    expect(rows[3]).toMatchObject({
      endpoint: '/api/tools/1',
      method: 'DELETE',
      client_ip: '2001:db8::1',
      user_agent: 'admin-ui/2',
      outcome: 'INSUFFICIENT_PERMISSIONS',
      blocked: true,
    });
    expect(rows[3]!.block_reason).toContain('tools.write');
    expect(new Date(rows[3]!.occurred_at).toISOString()).toBe(clock().toISOString());
    // Three VALID uses; the later refusal neither counts nor moves lastUsedAt.
    expect(await countsOf(owner, tokenId)).toEqual({ usageCount: 3, lastUsedAt: lastValidAt });
    expect(t.app.usage.isWaiting(valid[0]!)).toBe(false);
  });

  it('a revoked token is recorded as blocked and does not count', async () => {
    const rs = await resourceServer();
    const { owner, secret, tokenId } = await target();
    const before = await verify(rs.secret, { token: secret, ...FACTS });
    expect(before.valid).toBe(true);
    expect((await revokeToken(t, owner.jwt, { id: tokenId })).__typename).toBe('RevokeTokenPayload');
    const after = await verify(rs.secret, { token: secret, ...FACTS });
    expect(after).toMatchObject({ valid: false, outcome: 'REVOKED' });
    await t.app.usage.flush();

    expect(await eventById(t, after.verificationId!)).toMatchObject({
      outcome: 'REVOKED',
      blocked: true,
      block_reason: 'the token has been revoked',
      endpoint: '/api/tools',
    });
    expect((await countsOf(owner, tokenId)).usageCount).toBe(1);
  });

  it('a rate-limited use is recorded as blocked and does not count', async () => {
    const rs = await resourceServer();
    const { owner, secret, tokenId } = await target({ usageLimits: { requestsPerMinute: 2 } });
    const outcomes = [];
    for (let i = 0; i < 3; i += 1) {
      clock.advance(1_000); // distinct times, so that the stored events sort in the order they happened
      outcomes.push((await verify(rs.secret, { token: secret })).outcome);
    }
    expect(outcomes).toEqual(['VALID', 'VALID', 'RATE_LIMITED']);
    await t.app.usage.flush();
    const rows = await eventsOf(t, tokenId);
    expect(rows.map((r) => [r.outcome, r.blocked])).toEqual([
      ['VALID', false],
      ['VALID', false],
      ['RATE_LIMITED', true],
    ]);
    expect((await countsOf(owner, tokenId)).usageCount).toBe(2);
  });

  it('a token with a lifetime quota is counted once, not again by the flush', async () => {
    const rs = await resourceServer();
    const { owner, secret, tokenId } = await target({ usageLimits: { maxTotalRequests: 2 } });
    const outcomes = [];
    for (let i = 0; i < 3; i += 1) {
      clock.advance(1_000); // distinct times, so that the stored events sort in the order they happened
      outcomes.push((await verify(rs.secret, { token: secret })).outcome);
    }
    expect(outcomes).toEqual(['VALID', 'VALID', 'USAGE_EXCEEDED']);
    // The quota moved the count at verification time ...
    expect((await countsOf(owner, tokenId)).usageCount).toBe(2);
    await t.app.usage.flush();
    // ... and the flush adds nothing on top.
    expect((await countsOf(owner, tokenId)).usageCount).toBe(2);
    expect((await eventsOf(t, tokenId)).map((r) => r.outcome)).toEqual(['VALID', 'VALID', 'USAGE_EXCEEDED']);
  });

  it("the resource server's own API-token requests to Keymint are recorded and counted too", async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    await verify(rs.secret, { token: secret });
    await verify(rs.secret, { token: secret });
    await t.app.usage.flush();
    const own = await eventsOf(t, rs.tokenId);
    expect(own).toHaveLength(2);
    for (const row of own) expect(row).toMatchObject({ endpoint: '/graphql', method: 'POST', outcome: 'VALID', blocked: false });
    expect((await countsOf(rs.user, rs.tokenId)).usageCount).toBe(2);
  });

  it('an unidentifiable token (malformed or unknown) records nothing', async () => {
    const rs = await resourceServer();
    const before = await countEvents(t);
    const pendingBefore = t.app.usage.pending;
    const malformed = await verify(rs.secret, { token: 'km_not-a-token' });
    const unknown = await verify(rs.secret, { token: generateSecret('km').secret });
    expect(malformed).toMatchObject({ valid: false, outcome: 'MALFORMED', verificationId: null, tokenId: null });
    expect(unknown).toMatchObject({ valid: false, outcome: 'NOT_FOUND', verificationId: null, tokenId: null });
    // Only the resource server's own two requests were queued.
    expect(t.app.usage.pending - pendingBefore).toBe(2);
    await t.app.usage.flush();
    expect((await countEvents(t)) - before).toBe(2);
    expect((await eventsOf(t, rs.tokenId)).every((r) => r.endpoint === '/graphql')).toBe(true);
  });

  it('a session holding tokens.verify, and an admin, may verify; their uses are recorded', async () => {
    const verifier = await t.user({ permissions: ['tokens.verify'] });
    const admin = await t.user({ admin: true });
    const { owner, secret, tokenId } = await target();
    expect((await verify(verifier.jwt, { token: secret })).valid).toBe(true);
    expect((await verify(admin.jwt, { token: secret })).valid).toBe(true);
    await t.app.usage.flush();
    expect(await countEvents(t, tokenId)).toBe(2);
    expect((await countsOf(owner, tokenId)).usageCount).toBe(2);
  });
});

describe('reportUsage: happy', () => {
  it('while the event is still buffered: written with the event', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret, ...FACTS });
    expect(t.app.usage.isWaiting(verificationId!)).toBe(true);
    const response = await report(rs.secret, { verificationId, statusCode: 201, responseTimeMs: 12.5 });
    expect(response.data.reportUsage).toEqual({ __typename: 'ReportUsagePayload', verificationId });
    expect(await eventById(t, verificationId!)).toBeUndefined();
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: 201, response_time_ms: 12.5, outcome: 'VALID' });
  });

  it('after the event was written: applied at the next flush', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret, ...FACTS });
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: null, response_time_ms: null });

    const response = await report(rs.secret, { verificationId, statusCode: 503, responseTimeMs: 40 });
    expect(response.data.reportUsage).toEqual({ __typename: 'ReportUsagePayload', verificationId });
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: 503, response_time_ms: 40 });
  });

  it('responseTimeMs may be left out; an upper-case id is accepted', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret });
    await t.app.usage.flush();
    const response = await report(rs.secret, { verificationId: verificationId!.toUpperCase(), statusCode: 204 });
    expect(response.data.reportUsage.__typename).toBe('ReportUsagePayload');
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: 204, response_time_ms: null });
  });

  it('a refused verification can be reported on too', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const refused = await verify(rs.secret, { token: secret, requiredPermissions: ['tools.write'] });
    expect(refused.valid).toBe(false);
    const response = await report(rs.secret, { verificationId: refused.verificationId, statusCode: 403, responseTimeMs: 1 });
    expect(response.data.reportUsage.__typename).toBe('ReportUsagePayload');
    await t.app.usage.flush();
    expect(await eventById(t, refused.verificationId!)).toMatchObject({ blocked: true, status_code: 403, response_time_ms: 1 });
  });
});

describe('reportUsage: errors', () => {
  it('an unknown verificationId is a NotFoundError', async () => {
    const rs = await resourceServer();
    const response = await report(rs.secret, { verificationId: randomUUID(), statusCode: 200 });
    expect(response.errors).toBeUndefined();
    expect(response.data.reportUsage.__typename).toBe('NotFoundError');
  });

  it.each([
    [{ statusCode: 99 }, 'statusCode'],
    [{ statusCode: 600 }, 'statusCode'],
    [{ statusCode: 200, responseTimeMs: -1 }, 'responseTimeMs'],
    [{ statusCode: 200, responseTimeMs: 86_400_001 }, 'responseTimeMs'],
  ])('%j is a ValidationError on %s, and nothing is applied', async (fields, field) => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret });
    const response = await report(rs.secret, { verificationId, ...fields });
    expect(response.data.reportUsage.__typename).toBe('ValidationError');
    expect(response.data.reportUsage.fieldErrors.map((e: any) => e.path)).toEqual([[field]]);
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: null, response_time_ms: null });
  });

  it('a verificationId that is not a UUID is a ValidationError', async () => {
    const rs = await resourceServer();
    const response = await report(rs.secret, { verificationId: 'not-an-id', statusCode: 200 });
    expect(response.data.reportUsage.__typename).toBe('ValidationError');
    expect(response.data.reportUsage.fieldErrors[0].path).toEqual(['verificationId']);
  });
});

describe('verifyToken and reportUsage: security', () => {
  it('callers without tokens.verify are FORBIDDEN, and nothing is recorded for the token shown', async () => {
    const { secret, tokenId } = await target();
    const rs = await resourceServer();
    const { verificationId } = await verify(rs.secret, { token: secret });
    await t.app.usage.flush();

    const session = await t.user({ permissions: ['tools.*'] });
    // The owner holds tokens.verify, but an API token must name it in its own list.
    const inherits = await mintToken(t, rs.user.jwt, { name: 'inherits', permissions: [] });
    const narrow = await mintToken(t, rs.user.jwt, { name: 'narrow', permissions: ['tools.read'] });
    for (const caller of [session.jwt, inherits.secret, narrow.secret]) {
      const verifying = await t.gql(VERIFY, { input: { token: secret, ...FACTS } }, { token: caller });
      expect(verifying.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const reporting = await report(caller, { verificationId, statusCode: 500, responseTimeMs: 1 });
      expect(reporting.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(reporting.data?.reportUsage ?? null).toBeNull();
    }
    await t.app.usage.flush();
    expect(await countEvents(t, tokenId)).toBe(1);
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: null });
  });

  it('without credentials: UNAUTHENTICATED', async () => {
    const response = await report('', { verificationId: randomUUID(), statusCode: 200 });
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('POST /v1/usage', () => {
  async function post(body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${baseUrl}/v1/usage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

  it('accepts a JSON array and the {reports} form: 202 {accepted}, applied at the next flush', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await verify(rs.secret, { token: secret })).verificationId!);
    // The first is still buffered when reported; the others are written first.
    const buffered = await post([{ verificationId: ids[0], statusCode: 200, responseTimeMs: 7 }], bearer(rs.secret));
    expect(buffered).toMatchObject({ status: 202, body: { accepted: 1 } });
    await t.app.usage.flush();

    const asArray = await post(
      [
        { verificationId: ids[1], statusCode: 418, responseTimeMs: 3.25 },
        { verificationId: randomUUID(), statusCode: 200 }, // unknown ids are ignored
      ],
      bearer(rs.secret),
    );
    expect(asArray).toMatchObject({ status: 202, body: { accepted: 2 } });
    const asObject = await post({ reports: [{ verificationId: ids[2], statusCode: 302 }] }, bearer(rs.secret));
    expect(asObject).toMatchObject({ status: 202, body: { accepted: 1 } });
    await t.app.usage.flush();

    expect(await eventById(t, ids[0]!)).toMatchObject({ status_code: 200, response_time_ms: 7 });
    expect(await eventById(t, ids[1]!)).toMatchObject({ status_code: 418, response_time_ms: 3.25 });
    expect(await eventById(t, ids[2]!)).toMatchObject({ status_code: 302, response_time_ms: null });
    // The resource server's own calls to /v1/usage are uses of its token, too.
    const own = (await eventsOf(t, rs.tokenId)).filter((r) => r.endpoint === '/v1/usage');
    expect(own).toHaveLength(3);
    expect(own.every((r) => r.method === 'POST' && r.outcome === 'VALID')).toBe(true);
  });

  it('takes up to 1,000 reports; 1,001 is 400 and none is applied', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret });
    await t.app.usage.flush();
    const filler = (n: number) => Array.from({ length: n }, () => ({ verificationId: randomUUID(), statusCode: 200 }));

    const tooMany = await post([{ verificationId, statusCode: 500 }, ...filler(1000)], bearer(rs.secret));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toBe('BAD_REQUEST');
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: null });

    const exactly = await post([{ verificationId, statusCode: 200, responseTimeMs: 9 }, ...filler(999)], bearer(rs.secret));
    expect(exactly).toMatchObject({ status: 202, body: { accepted: 1000 } });
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: 200, response_time_ms: 9 });
  });

  it('an invalid item is 400 with where it is, and none of the batch is applied', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret });
    const response = await post(
      [
        { verificationId, statusCode: 200 },
        { verificationId: randomUUID(), statusCode: 7 },
      ],
      bearer(rs.secret),
    );
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([expect.objectContaining({ path: ['1', 'statusCode'] })]);
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: null });
  });

  it('no credentials: 401; a caller without tokens.verify: 403; nothing is applied', async () => {
    const rs = await resourceServer();
    const { secret } = await target();
    const { verificationId } = await verify(rs.secret, { token: secret });
    const reports = [{ verificationId, statusCode: 500, responseTimeMs: 1 }];

    const anonymous = await post(reports);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');

    const inherits = await mintToken(t, rs.user.jwt, { name: 'inherits', permissions: [] });
    const session = await t.user({ permissions: ['tools.*'] });
    for (const caller of [inherits.secret, session.jwt]) {
      const refused = await post(reports, bearer(caller));
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('FORBIDDEN');
    }
    await t.app.usage.flush();
    expect(await eventById(t, verificationId!)).toMatchObject({ status_code: null, response_time_ms: null });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { createTestApp, mintToken, resourceServer, revokeToken, type TestApp } from '../harness.js';

let t: TestApp;
let base: string;
let caller: string;

beforeAll(async () => {
  t = await createTestApp({ env: { TRUST_PROXY: '1' } });
  base = await t.listen();
  caller = (await resourceServer(t)).secret;
});
afterAll(async () => t?.close());

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

async function target(input: Record<string, unknown> = {}, permissions = ['tools.*']) {
  const owner = await t.user({ permissions });
  const minted = await mintToken(t, owner.jwt, { name: 'target', permissions: ['tools.read'], ...input });
  return { owner, token: minted.token, secret: minted.secret as string };
}

describe('POST /v1/verify', () => {
  it('answers 200 with the TokenVerification itself, for valid and invalid tokens alike', async () => {
    const { token, secret } = await target();
    const valid = await post('/v1/verify', JSON.stringify({ token: secret, requiredPermissions: ['tools.read'] }), {
      authorization: `Bearer ${caller}`,
    });
    expect(valid.status).toBe(200);
    expect(valid.body).toMatchObject({
      valid: true,
      outcome: 'VALID',
      tokenId: token.id,
      prefix: token.prefix,
      name: 'target',
      permissions: ['tools.read'],
      token: { id: token.id, prefix: token.prefix, name: 'target' },
      remaining: null,
    });
    expect(valid.body.data).toBeUndefined();
    expect(valid.headers.get('x-request-id')).toBeTruthy();

    const malformed = await post('/v1/verify', JSON.stringify({ token: 'nope' }), { authorization: `Bearer ${caller}` });
    expect(malformed.status).toBe(200);
    expect(malformed.body).toMatchObject({ valid: false, outcome: 'MALFORMED', token: null, permissions: [] });

    const unknown = await post('/v1/verify', JSON.stringify({ token: generateSecret('km').secret }), { authorization: `Bearer ${caller}` });
    expect(unknown.body).toMatchObject({ valid: false, outcome: 'NOT_FOUND', token: null });
  });

  it('refuses without credentials (401), and without tokens.verify (403)', async () => {
    const anonymous = await post('/v1/verify', JSON.stringify({ token: 'x' }));
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('UNAUTHENTICATED');
    const user = await t.user({ permissions: ['tools.*'] });
    const forbidden = await post('/v1/verify', JSON.stringify({ token: 'x' }), { authorization: `Bearer ${user.jwt}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe('FORBIDDEN');
  });

  it('a bad body is 400 and changes nothing', async () => {
    for (const body of ['{not json', '[]', JSON.stringify({ token: 5 }), JSON.stringify({ requiredPermissions: 'x' })]) {
      const response = await post('/v1/verify', body, { authorization: `Bearer ${caller}` });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('BAD_REQUEST');
    }
    const huge = await post('/v1/verify', JSON.stringify({ token: 'x'.repeat(20_000) }), { authorization: `Bearer ${caller}` });
    expect(huge.status).toBe(413);
  });
});

describe('REST errors', () => {
  it('every refusal is {error, message, requestId}, with the request id the response carries', async () => {
    const user = await t.user({ permissions: ['tools.*'] });
    const refusals = [
      { status: 401, error: 'UNAUTHENTICATED', answer: await post('/v1/verify', JSON.stringify({ token: 'x' })) },
      { status: 403, error: 'FORBIDDEN', answer: await post('/v1/verify', JSON.stringify({ token: 'x' }), { authorization: `Bearer ${user.jwt}` }) },
      { status: 400, error: 'BAD_REQUEST', answer: await post('/v1/verify', '{not json', { authorization: `Bearer ${caller}` }) },
      { status: 413, error: 'PAYLOAD_TOO_LARGE', answer: await post('/v1/usage', 'x'.repeat(600_000), { authorization: `Bearer ${caller}` }) },
      { status: 400, error: 'invalid_request', answer: await post('/oauth/introspect', 'token=', { authorization: `Bearer ${caller}`, 'content-type': 'application/x-www-form-urlencoded' }) },
      { status: 400, error: 'BAD_REQUEST', answer: await post('/v1/leaks', JSON.stringify({ tokens: 'km_x' })) },
    ];
    for (const { status, error, answer } of refusals) {
      expect(answer.status, error).toBe(status);
      expect(answer.body).toEqual({ error, message: expect.any(String), requestId: answer.headers.get('x-request-id') });
      expect(answer.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(refusals[0]!.answer.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('carries the caller\'s own x-request-id, and keeps field problems in details', async () => {
    const { secret } = await target();
    const response = await post('/v1/verify', JSON.stringify({ token: secret, clientIp: 'not-an-ip' }), {
      authorization: `Bearer ${caller}`,
      'x-request-id': 'gateway-req-42',
    });
    expect(response.headers.get('x-request-id')).toBe('gateway-req-42');
    expect(response.body).toEqual({
      error: 'BAD_REQUEST',
      message: expect.stringContaining('clientIp'),
      requestId: 'gateway-req-42',
      details: [{ path: ['clientIp'], message: expect.any(String) }],
    });
  });

  it('a leak report over the address budget is RATE_LIMITED (429) with Retry-After, like any refusal', async () => {
    const ip = '198.51.100.77';
    let last = await post('/v1/leaks', JSON.stringify({ tokens: ['km_x'] }), { 'x-forwarded-for': ip });
    for (let i = 0; i < 30 && last.status === 202; i += 1) {
      last = await post('/v1/leaks', JSON.stringify({ tokens: ['km_x'] }), { 'x-forwarded-for': ip });
    }
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last.body).toEqual({ error: 'RATE_LIMITED', message: expect.any(String), requestId: last.headers.get('x-request-id') });
  });
});

describe('what a resource server passes on', () => {
  it('a clientIp that is not an address is 400 naming the field, and records nothing', async () => {
    const { secret } = await target();
    await t.app.usage.flush();
    const before = await t.orm.em.getConnection().execute<{ n: number }[]>('select count(*)::int as n from usage_events');
    const response = await post('/v1/verify', JSON.stringify({ token: secret, clientIp: 'not-an-ip' }), { authorization: `Bearer ${caller}` });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'BAD_REQUEST', details: [{ path: ['clientIp'] }] });
    await t.app.usage.flush();
    const after = await t.orm.em.getConnection().execute<{ n: number }[]>('select count(*)::int as n from usage_events');
    // The caller's own authentication is a use of its token; nothing of the target.
    expect(after[0]!.n - before[0]!.n).toBeLessThanOrEqual(1);
  });

  it('endpoint, method and user agent are cleaned and cut, never a reason to refuse', async () => {
    const { secret } = await target();
    const response = await post(
      '/v1/verify',
      JSON.stringify({ token: secret, endpoint: `/x\u0000/${'y'.repeat(2000)}`, method: 'PO\u0000ST\u0007', userAgent: 'ua\r\n' }),
      { authorization: `Bearer ${caller}` },
    );
    expect(response.status).toBe(200);
    expect(response.body.outcome).toBe('VALID');
    await t.app.usage.flush();
    const [row] = await t.orm.em
      .getConnection()
      .execute<{ endpoint: string; method: string; user_agent: string }[]>('select endpoint, method, user_agent from usage_events where id = ?', [
        response.body.verificationId,
      ]);
    expect(row!.endpoint).toHaveLength(512);
    expect(row!.endpoint.startsWith('/x/yyy')).toBe(true);
    expect(row).toMatchObject({ method: 'POST', user_agent: 'ua' });
  });
});

describe('the plain routes take no cookies', () => {
  it('a session cookie does not authenticate /v1/verify, /v1/usage or /oauth/introspect', async () => {
    const verifier = await t.user({ permissions: ['tokens.verify'] });
    const cookie = { cookie: `auth_token=${verifier.jwt}` };
    expect((await post('/v1/verify', JSON.stringify({ token: 'x' }), cookie)).status).toBe(401);
    expect((await post('/v1/usage', '[]', cookie)).status).toBe(401);
    const introspect = await fetch(`${base}/oauth/introspect`, {
      method: 'POST',
      body: 'token=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...cookie },
    });
    expect(introspect.status).toBe(401);
    // The same session in the Authorization header is accepted.
    expect((await post('/v1/verify', JSON.stringify({ token: 'x' }), { authorization: `Bearer ${verifier.jwt}` })).status).toBe(200);
  });
});

describe('POST /oauth/introspect (RFC 7662)', () => {
  const form = (token: string) => new URLSearchParams({ token }).toString();

  it('describes an active token', async () => {
    const { owner, token, secret } = await target({ expiresInDays: 5 });
    const ownerId = (await t.gql(`{ viewer { id } }`, {}, { token: owner.jwt })).data.viewer.id;
    const response = await post('/oauth/introspect', form(secret), {
      authorization: `Bearer ${caller}`,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({
      active: true,
      scope: 'tools.read',
      sub: ownerId,
      client_id: token.id,
      token_type: 'Bearer',
      iat: Math.floor(Date.parse(token.createdAt) / 1000),
      exp: Math.floor(Date.parse(token.expiresAt) / 1000),
    });
  });

  it('answers {active:false} and nothing more for any invalid token', async () => {
    const { owner, token, secret } = await target();
    await revokeToken(t, owner.jwt, { id: token.id });
    for (const candidate of [secret, 'garbage', generateSecret('km').secret]) {
      const response = await post('/oauth/introspect', form(candidate), {
        authorization: `Bearer ${caller}`,
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ active: false });
    }
  });

  it('needs an authenticated caller with tokens.verify', async () => {
    const response = await post('/oauth/introspect', form('x'), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(401);
  });
});

describe('API tokens calling Keymint go through the same checks', () => {
  const VIEWER = `{ viewer { authMethod } }`;

  it('a token bound to another server cannot call Keymint; one bound to SERVER_ID can', async () => {
    const elsewhere = await target({ serverId: 'mcp-prod', permissions: ['tools.read'] });
    const refused = await t.gql(VIEWER, {}, { token: elsewhere.secret });
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toMatch(/another server/);
    const here = await target({ serverId: 'keymint', name: 'keymint bound' });
    expect((await t.gql(VIEWER, {}, { token: here.secret })).data.viewer.authMethod).toBe('API_TOKEN');
  });

  it('an IP-restricted token needs a client address inside its ranges (X-Forwarded-For behind TRUST_PROXY)', async () => {
    const { secret } = await target({ ipRestrictions: ['203.0.113.0/24'] });
    expect((await t.gql(VIEWER, {}, { token: secret })).status).toBe(401);
    const inside = await t.gql(VIEWER, {}, { token: secret, headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' } });
    expect(inside.data.viewer.authMethod).toBe('API_TOKEN');
    // Only the hop the trusted proxy added counts; what the client wrote to the left does not.
    const spoofed = await t.gql(VIEWER, {}, { token: secret, headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' } });
    expect(spoofed.status).toBe(401);
  });

  it('over a real socket, the peer address is the client IP', async () => {
    const { secret } = await target({ ipRestrictions: ['127.0.0.1', '::1'] });
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect((await response.json()).data.viewer.authMethod).toBe('API_TOKEN');
  });

  it('an API token over its rate limit gets 429 with Retry-After', async () => {
    const { secret } = await target({ usageLimits: { requestsPerMinute: 2 } });
    expect((await t.gql(VIEWER, {}, { token: secret })).status).toBe(200);
    expect((await t.gql(VIEWER, {}, { token: secret })).status).toBe(200);
    const limited = await t.gql(VIEWER, {}, { token: secret });
    expect(limited.status).toBe(429);
    expect(limited.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('each request to Keymint with an API token is recorded as a use', async () => {
    const { token, secret } = await target();
    await t.gql(VIEWER, {}, { token: secret, headers: { 'user-agent': 'ci-job/1.0' } });
    await t.app.usage.flush();
    const rows = await t.orm.em
      .getConnection()
      .execute(`select endpoint, method, outcome, user_agent from usage_events where token_id = ?`, [token.id.slice(4)]);
    expect(rows).toEqual([{ endpoint: '/graphql', method: 'POST', outcome: 'VALID', user_agent: 'ci-job/1.0' }]);
    const after = await t.orm.em.getConnection().execute(`select usage_count, last_used_at from tokens where id = ?`, [token.id.slice(4)]);
    expect(Number(after[0]!.usage_count)).toBe(1);
    expect(after[0]!.last_used_at).not.toBeNull();
  });
});

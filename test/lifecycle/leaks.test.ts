import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { createTestApp, mintToken, type TestApp } from '../harness.js';

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await createTestApp({ env: { TRUST_PROXY: '1' } });
  base = await t.listen();
});
afterAll(async () => t?.close());

let ipCounter = 0;
/** Each test reports from its own address, so the per-address limit is not shared. */
const freshIp = () => `198.51.100.${(ipCounter += 1)}`;

async function report(body: unknown, ip = freshIp()) {
  const response = await fetch(`${base}/v1/leaks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const STATUS = `query($id: ID!) { token(id: $id) { status revocation { revokedBy reason } } }`;

describe('POST /v1/leaks', () => {
  it('revokes every live token reported, unauthenticated, with the same answer whatever was found', async () => {
    const owner = await t.user();
    const a = await mintToken(t, owner.jwt, { name: 'leaked a' });
    const b = await mintToken(t, owner.jwt, { name: 'leaked b' });
    const safe = await mintToken(t, owner.jwt, { name: 'safe' });
    const found = await report({ tokens: [a.secret, b.secret, 'noise', generateSecret('km').secret] });
    const nothing = await report({ tokens: ['noise', generateSecret('km').secret, 'x', 'y'] });
    expect(found.status).toBe(202);
    expect(found.body).toEqual({ received: 4 });
    expect(nothing.status).toBe(found.status);
    expect(nothing.body).toEqual(found.body);
    for (const leaked of [a, b]) {
      const state = await t.gql(STATUS, { id: leaked.token.id }, { token: owner.jwt });
      expect(state.data.token).toEqual({ status: 'REVOKED', revocation: { revokedBy: 'leak-report', reason: 'Reported as leaked' } });
    }
    expect((await t.gql(STATUS, { id: safe.token.id }, { token: owner.jwt })).data.token.status).toBe('ACTIVE');
  });

  it('accepts the secret-scanning partner shape', async () => {
    const owner = await t.user();
    const leaked = await mintToken(t, owner.jwt, { name: 'on github' });
    const response = await report([{ token: leaked.secret, type: 'keymint_api_token', url: 'https://github.com/x/y/blob/main/.env', source: 'content' }]);
    expect(response).toMatchObject({ status: 202, body: { received: 1 } });
    expect((await t.gql(STATUS, { id: leaked.token.id }, { token: owner.jwt })).data.token.status).toBe('REVOKED');
  });

  it('an old secret still in its grace period kills the whole token', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'rotated' });
    await t.gql(`mutation($id: ID!) { rotateToken(input: { id: $id, gracePeriodSeconds: 3600 }) { __typename } }`, { id: minted.token.id }, { token: owner.jwt });
    await report({ tokens: [minted.secret] });
    expect((await t.gql(STATUS, { id: minted.token.id }, { token: owner.jwt })).data.token.status).toBe('REVOKED');
  });

  it('refuses more than 1,000 strings and bodies of the wrong shape', async () => {
    expect((await report({ tokens: Array.from({ length: 1001 }, () => 'x') })).status).toBe(400);
    expect((await report({ nope: true })).status).toBe(400);
  });

  it('is rate-limited per client address', async () => {
    const ip = freshIp();
    const statuses = [];
    for (let i = 0; i < 25; i += 1) statuses.push((await report({ tokens: ['x'] }, ip)).status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(20);
    const limited = await report({ tokens: ['x'] }, ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await report({ tokens: ['x'] })).status).toBe(202);
  });
});

describe('reportLeakedTokens', () => {
  it('works over GraphQL without credentials', async () => {
    const owner = await t.user();
    const leaked = await mintToken(t, owner.jwt, { name: 'graphql leak' });
    const response = await t.gql(
      `mutation($s: [String!]!) { reportLeakedTokens(input: { tokens: $s }) { __typename ... on ReportLeakedTokensPayload { received } } }`,
      { s: [leaked.secret, 'noise'] },
      { headers: { 'x-forwarded-for': freshIp() } },
    );
    expect(response.data.reportLeakedTokens).toEqual({ __typename: 'ReportLeakedTokensPayload', received: 2 });
    expect((await t.gql(STATUS, { id: leaked.token.id }, { token: owner.jwt })).data.token.revocation.revokedBy).toBe('leak-report');
  });
});

describe('leak reports are cheap to make and bounded', () => {
  it('a report of 1,000 checksum-valid forgeries is one batched lookup, well under 100 ms of CPU', async () => {
    const forgeries = Array.from({ length: 1000 }, () => generateSecret('km').secret);
    const owner = await t.user();
    const real = await mintToken(t, owner.jwt, { name: 'among forgeries' });
    forgeries[500] = real.secret;
    // Once first, so that compiling the code paths is not what is measured.
    const warmUp = Array.from({ length: 1000 }, () => generateSecret('km').secret);
    await t.gql(`mutation($s: [String!]!) { reportLeakedTokens(input: { tokens: $s }) { __typename } }`, { s: warmUp }, { headers: { 'x-forwarded-for': freshIp() } });
    const cpu = process.cpuUsage();
    const { result, statements } = await t.countStatements(() =>
      t.gql(`mutation($s: [String!]!) { reportLeakedTokens(input: { tokens: $s }) { __typename } }`, { s: forgeries }, {
        headers: { 'x-forwarded-for': freshIp() },
      }),
    );
    const used = process.cpuUsage(cpu);
    expect(result.data.reportLeakedTokens.__typename).toBe('ReportLeakedTokensPayload');
    expect(statements.filter((sql) => /secret_hash/.test(sql) && /^select/i.test(sql.trim()))).toHaveLength(1);
    // The whole request (parsing 1,000 strings, hashing them, the lookup, revoking one) in this process.
    expect((used.user + used.system) / 1000).toBeLessThan(100);
    expect((await t.gql(STATUS, { id: real.token.id }, { token: owner.jwt })).data.token.status).toBe('REVOKED');
  });

  it('over GraphQL, the per-address limit is a RateLimitedError member of the result', async () => {
    const ip = freshIp();
    const send = () =>
      t.gql(
        `mutation { reportLeakedTokens(input: { tokens: ["x"] }) { __typename ... on RateLimitedError { message retryAfterSeconds } } }`,
        {},
        { headers: { 'x-forwarded-for': ip } },
      );
    for (let i = 0; i < 20; i += 1) expect((await send()).data.reportLeakedTokens.__typename).toBe('ReportLeakedTokensPayload');
    const limited = await send();
    expect(limited.status).toBe(200);
    expect(limited.data.reportLeakedTokens.__typename).toBe('RateLimitedError');
    expect(limited.data.reportLeakedTokens.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('tokensExpiringSoon', () => {
  it('lists the active tokens that expire within the window, soonest first', async () => {
    const owner = await t.user();
    await mintToken(t, owner.jwt, { name: 'in 3 days', expiresInDays: 3 });
    await mintToken(t, owner.jwt, { name: 'in 1 day', expiresInDays: 1 });
    await mintToken(t, owner.jwt, { name: 'in 30 days', expiresInDays: 30 });
    const soon = await t.gql(`{ tokensExpiringSoon { name } }`, {}, { token: owner.jwt });
    expect(soon.data.tokensExpiringSoon).toEqual([{ name: 'in 1 day' }, { name: 'in 3 days' }]);
    const wider = await t.gql(`{ tokensExpiringSoon(days: 31) { name } }`, {}, { token: owner.jwt });
    expect(wider.data.tokensExpiringSoon).toHaveLength(3);
    const invalid = await t.gql(`{ tokensExpiringSoon(days: 0) { name } }`, {}, { token: owner.jwt });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

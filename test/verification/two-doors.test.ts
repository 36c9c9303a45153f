import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { createTestApp, mintToken, resourceServer, revokeToken, VERIFY, type TestApp } from '../harness.js';

/**
 * The operations that have two doors, a GraphQL mutation and a REST route, answer alike: each
 * pair is one service method, and these tests hold them to it.
 */

let t: TestApp;
let base: string;
let rs: string;

beforeAll(async () => {
  t = await createTestApp({ env: { TRUST_PROXY: '1', RATE_LIMIT_LEAK_REPORTS_PER_MINUTE: '3' } });
  base = await t.listen();
  rs = (await resourceServer(t)).secret;
});
afterAll(async () => t?.close());

async function rest(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: response.status, body: await response.json() };
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function target(input: Record<string, unknown> = {}) {
  const owner = await t.user({ permissions: ['tools.*'] });
  const minted = await mintToken(t, owner.jwt, { name: `target ${randomUUID()}`, permissions: ['tools.read'], ...input });
  return { owner, token: minted.token, secret: minted.secret as string };
}

/** What both doors must agree on: everything but the id of the recorded use. */
function comparable(answer: Record<string, unknown>) {
  const { verificationId, token, ...rest } = answer;
  void token;
  return { ...rest, recorded: verificationId !== null };
}

describe('verifyToken and POST /v1/verify', () => {
  it('give the same verdict and the same facts, case by case', async () => {
    const plain = await target();
    const bound = await target({ serverId: 'mcp-prod', ipRestrictions: ['10.0.0.0/8'] });
    const revoked = await target();
    await revokeToken(t, revoked.owner.jwt, { id: revoked.token.id });
    const cases: Record<string, unknown>[] = [
      { token: plain.secret, requiredPermissions: ['tools.read'] },
      { token: plain.secret, requiredPermissions: ['tools.write'] },
      { token: bound.secret, serverId: 'mcp-prod', clientIp: '10.1.2.3' },
      { token: bound.secret, serverId: 'other' },
      { token: bound.secret, serverId: 'mcp-prod', clientIp: '192.0.2.1' },
      { token: revoked.secret },
      { token: generateSecret('km').secret },
      { token: 'not a token' },
    ];
    for (const input of cases) {
      const graphql = await t.gql(VERIFY, { input }, { token: rs });
      expect(graphql.errors).toBeUndefined();
      const http = await rest('/v1/verify', input, bearer(rs));
      expect(http.status).toBe(200);
      expect(comparable(http.body), JSON.stringify(input)).toEqual(comparable(graphql.data.verifyToken));
    }
  });

  it('refuse the same callers: no credentials, and no tokens.verify', async () => {
    const query = VERIFY;
    const anonymous = await t.gql(query, { input: { token: 'x' } });
    const anonymousHttp = await rest('/v1/verify', { token: 'x' });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymousHttp).toMatchObject({ status: 401, body: { error: 'UNAUTHENTICATED' } });

    const user = await t.user({ permissions: ['tools.*'] });
    const forbidden = await t.gql(query, { input: { token: 'x' } }, { token: user.jwt });
    const forbiddenHttp = await rest('/v1/verify', { token: 'x' }, bearer(user.jwt));
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(forbiddenHttp).toMatchObject({ status: 403, body: { error: 'FORBIDDEN' } });
    expect(forbiddenHttp.body.message).toBe(forbidden.errors?.[0]?.message);
  });
});

const REPORT_USAGE = /* GraphQL */ `
  mutation Report($input: ReportUsageInput!) {
    reportUsage(input: $input) {
      __typename
      ... on ReportUsagePayload { verificationId }
      ... on Error { message }
    }
  }
`;

describe('reportUsage and POST /v1/usage', () => {
  it('apply a report about a recorded verification, and refuse one about none, changing nothing', async () => {
    const { secret } = await target();
    const viaGraphql = (await t.gql(VERIFY, { input: { token: secret } }, { token: rs })).data.verifyToken.verificationId as string;
    const viaHttp = (await rest('/v1/verify', { token: secret }, bearer(rs))).body.verificationId as string;
    await t.app.usage.flush();

    const reported = await t.gql(REPORT_USAGE, { input: { verificationId: viaGraphql, statusCode: 201, responseTimeMs: 4 } }, { token: rs });
    expect(reported.data.reportUsage).toEqual({ __typename: 'ReportUsagePayload', verificationId: viaGraphql });
    const reportedHttp = await rest('/v1/usage', [{ verificationId: viaHttp, statusCode: 201, responseTimeMs: 4 }], bearer(rs));
    expect(reportedHttp).toEqual({ status: 202, body: { accepted: 1, unknown: [] } });

    const nobody = randomUUID();
    const refused = await t.gql(REPORT_USAGE, { input: { verificationId: nobody, statusCode: 200 } }, { token: rs });
    expect(refused.data.reportUsage).toMatchObject({ __typename: 'NotFoundError' });
    const refusedHttp = await rest('/v1/usage', [{ verificationId: nobody, statusCode: 200 }], bearer(rs));
    expect(refusedHttp).toEqual({ status: 202, body: { accepted: 1, unknown: [nobody] } });

    await t.app.usage.flush();
    const pool = t.orm.em.getConnection();
    const rows = await pool.execute<{ id: string; status_code: number | null }[]>('select id, status_code from usage_events where id in (?)', [
      [viaGraphql, viaHttp, nobody],
    ]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status_code]))).toEqual({ [viaGraphql]: 201, [viaHttp]: 201 });
  });
});

const REPORT_LEAKS = /* GraphQL */ `
  mutation Leaks($tokens: [String!]!) {
    reportLeakedTokens(input: { tokens: $tokens }) {
      __typename
      ... on ReportLeakedTokensPayload { received }
      ... on RateLimitedError { retryAfterSeconds }
    }
  }
`;

describe('reportLeakedTokens and POST /v1/leaks', () => {
  it('revoke alike, as "leak-report", answer alike, and share one budget per address', async () => {
    const [a, b] = [await target(), await target()];
    const address = { 'x-forwarded-for': '198.51.100.7' };
    const viaGraphql = await t.gql(REPORT_LEAKS, { tokens: [a.secret, 'noise'] }, { headers: address });
    expect(viaGraphql.data.reportLeakedTokens).toEqual({ __typename: 'ReportLeakedTokensPayload', received: 2 });
    const viaHttp = await rest('/v1/leaks', { tokens: [b.secret, 'noise'] }, address);
    expect(viaHttp).toEqual({ status: 202, body: { received: 2 } });

    for (const { owner, token } of [a, b]) {
      const seen = await t.gql(`query($id: ID!) { token(id: $id) { status revocation { revokedBy reason } } }`, { id: token.id }, { token: owner.jwt });
      expect(seen.data.token).toEqual({ status: 'REVOKED', revocation: { revokedBy: 'leak-report', reason: 'Reported as leaked' } });
    }

    // Three reports a minute from one address, whichever door they came through.
    await rest('/v1/leaks', { tokens: [] }, address);
    const limited = await t.gql(REPORT_LEAKS, { tokens: [] }, { headers: address });
    expect(limited.data.reportLeakedTokens).toMatchObject({ __typename: 'RateLimitedError' });
    const limitedHttp = await rest('/v1/leaks', { tokens: [] }, address);
    expect(limitedHttp.status).toBe(429);
    expect(limitedHttp.body.error).toBe('RATE_LIMITED');
  });
});

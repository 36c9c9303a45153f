import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, dbId, mintToken, type TestApp } from '../harness.js';
import { testClock } from '../support/test-clock.js';
import { eventById, insertEvents } from './usage-fixtures.js';

/**
 * Two edges of usage recording that once failed: a report racing the flush of its event, and
 * events stamped after today (a clock running ahead) leaking into the totals.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    clock: testClock(FIXED),
    env: { USAGE_FLUSH_INTERVAL_MS: '600000', USAGE_FLUSH_BATCH: '10000' },
  });
});
afterAll(async () => t?.close());

const FIXED = '2026-03-15T12:00:00.000Z';

describe('usage edge cases', () => {
  // On PostgreSQL the report's lookup runs on another pooled connection, which cannot see the
  // event until the flush commits: the recorder must still know the id while it is in flight.
  it('reportUsage during a flush of its event is accepted, not NotFoundError', async () => {
    const verifier = await t.user({ permissions: ['tokens.verify'] });
    const owner = await t.user();
    const { token, secret } = await mintToken(t, owner.jwt, { name: 'raced' });
    // A large batch, so that the flush's INSERT takes a while.
    for (let i = 0; i < 5_000; i += 1) {
      t.app.usage.record({
        tokenId: dbId(token.id),
        occurredAt: new Date(FIXED),
        endpoint: '/filler',
        method: 'GET',
        clientIp: null,
        userAgent: null,
        outcome: 'VALID',
        blocked: false,
        blockReason: null,
        countsTowardUsage: false,
      });
    }
    const verified = await t.gql(
      `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { verificationId } }`,
      { input: { token: secret } },
      { token: verifier.jwt },
    );
    const verificationId = verified.data.verifyToken.verificationId as string;

    const flushing = t.app.usage.flush();
    const reported = await t.gql(
      `mutation($input: ReportUsageInput!) { reportUsage(input: $input) { __typename } }`,
      { input: { verificationId, statusCode: 201, responseTimeMs: 5 } },
      { token: verifier.jwt },
    );
    await flushing;
    await t.app.usage.flush();

    expect(reported.data.reportUsage.__typename).toBe('ReportUsagePayload');
    expect(await eventById(t, verificationId)).toMatchObject({ status_code: 201, response_time_ms: 5 });
  });

  // The period ends with today: an event stamped later (another instance's clock running ahead)
  // would otherwise count in totalRequests but in no daily row.
  it('an event after today is outside the period: totals agree with the daily rows', async () => {
    const owner = await t.user();
    const { token } = await mintToken(t, owner.jwt, { name: 'skewed' });
    await insertEvents(t, token.id, [
      { at: '2026-03-15T01:00:00.000Z', endpoint: '/today' },
      { at: '2026-03-16T00:00:00.000Z', endpoint: '/tomorrow' },
    ]);
    const response = await t.gql(
      `query($id: ID!) { token(id: $id) { usage(days: 1) { totalRequests topEndpoints { endpoint } daily { date totalRequests } } } }`,
      { id: token.id },
      { token: owner.jwt },
    );
    expect(response.data.token.usage).toEqual({
      totalRequests: 1,
      topEndpoints: [{ endpoint: '/today' }],
      daily: [{ date: '2026-03-15', totalRequests: 1 }],
    });
  });
});

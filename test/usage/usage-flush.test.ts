import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestApp, mintToken, type TestApp } from '../harness.js';
import { countEvents, eventById } from './usage-fixtures.js';

/**
 * When buffered usage reaches the database: by size, and on a clean stop. Each test builds its
 * own app, with a flush interval long enough (10 minutes) that time never flushes by itself.
 * The verifying caller is a session, so the only events are those of the token being verified.
 */
const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function app(env: Record<string, string>) {
  const t = await createTestApp({ env: { USAGE_FLUSH_INTERVAL_MS: '600000', ...env } });
  apps.push(t);
  const verifier = await t.user({ permissions: ['tokens.verify'] });
  const owner = await t.user({ permissions: ['tools.*'] });
  const minted = await mintToken(t, owner.jwt, { name: 'busy' });
  expect(minted.__typename).toBe('MintTokenPayload');
  const verify = async (input: Record<string, unknown> = {}) => {
    const response = await t.gql(
      `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { outcome verificationId } }`,
      { input: { token: minted.secret, endpoint: '/busy', ...input } },
      { token: verifier.jwt },
    );
    expect(response.errors).toBeUndefined();
    return response.data.verifyToken as { outcome: string; verificationId: string };
  };
  const usageCount = async () =>
    (await t.gql(`query($id: ID!) { token(id: $id) { usageCount } }`, { id: minted.token.id }, { token: owner.jwt })).data.token
      .usageCount as number;
  return { t, tokenId: minted.token.id as string, verify, usageCount };
}

describe('flushing usage', () => {
  it('a clean stop (usage.close) writes everything still buffered', async () => {
    const { t, tokenId, verify, usageCount } = await app({ USAGE_FLUSH_BATCH: '10000' });
    for (let i = 0; i < 40; i += 1) await verify();
    for (let i = 0; i < 10; i += 1) await verify({ requiredPermissions: ['files.write'] });
    expect(t.app.usage.pending).toBe(50);
    expect(await countEvents(t, tokenId)).toBe(0);
    expect(await usageCount()).toBe(0);

    await t.app.usage.close();

    expect(t.app.usage.pending).toBe(0);
    expect(await countEvents(t, tokenId)).toBe(50);
    expect(await usageCount()).toBe(40);
  });

  it('App.close (what graceful shutdown calls) writes buffered events and buffered reports', async () => {
    const { t, tokenId, verify } = await app({ USAGE_FLUSH_BATCH: '10000' });
    const written = await verify();
    await t.app.usage.flush();
    // A report on an event already written waits in memory for the next flush ...
    const reported = await t.gql(
      `mutation($input: ReportUsageInput!) { reportUsage(input: $input) { __typename } }`,
      { input: { verificationId: written.verificationId, statusCode: 502, responseTimeMs: 75 } },
      { token: (await t.user({ permissions: ['tokens.verify'] })).jwt },
    );
    expect(reported.data.reportUsage.__typename).toBe('ReportUsagePayload');
    // ... and so do new events.
    for (let i = 0; i < 7; i += 1) await verify();
    expect(await countEvents(t, tokenId)).toBe(1);

    await t.app.close();

    expect(await countEvents(t, tokenId)).toBe(8);
    expect(await eventById(t, written.verificationId)).toMatchObject({ status_code: 502, response_time_ms: 75 });
  });

  it('reaching USAGE_FLUSH_BATCH starts a flush by itself', async () => {
    const { t, tokenId, verify, usageCount } = await app({ USAGE_FLUSH_BATCH: '5' });
    for (let i = 0; i < 4; i += 1) await verify();
    // Below the batch size: still waiting, even a little later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(t.app.usage.pending).toBe(4);
    expect(await countEvents(t, tokenId)).toBe(0);

    await verify();
    await vi.waitFor(async () => expect(await countEvents(t, tokenId)).toBe(5), { timeout: 5_000, interval: 20 });
    expect(t.app.usage.pending).toBe(0);
    expect(await usageCount()).toBe(5);
  });

  it('concurrent uses across many size-triggered flushes: each written and counted exactly once', async () => {
    const { t, tokenId, verify, usageCount } = await app({ USAGE_FLUSH_BATCH: '5' });
    const results = await Promise.all(Array.from({ length: 120 }, () => verify()));
    expect(results.every((r) => r.outcome === 'VALID')).toBe(true);
    await t.app.usage.close();
    expect(await countEvents(t, tokenId)).toBe(120);
    expect(await usageCount()).toBe(120);
    const ids = await t.orm.em
      .getConnection()
      .execute<{ id: string }[]>(`select id from usage_events where token_id = ?`, [tokenId.slice('tok_'.length)]);
    expect(new Set(ids.map((r) => r.id))).toEqual(new Set(results.map((r) => r.verificationId)));
  });
});

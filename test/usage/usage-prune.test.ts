import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, dbId, mintToken, type TestApp } from '../harness.js';
import { countEvents } from './usage-fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const DAY = 86_400_000;

/** Inserts `count` events for a token, spread one second apart going back from `latest`. */
async function bulkInsert(tokenId: string, count: number, latest: Date) {
  await t.orm.em.getConnection().execute(
    `insert into usage_events (id, token_id, occurred_at, endpoint, method, outcome, blocked)
     select gen_random_uuid(), ?, ?::timestamptz - make_interval(secs => g), '/old', 'GET', 'VALID', false
     from generate_series(0, ? - 1) as g`,
    [dbId(tokenId), latest.toISOString(), count],
  );
}

describe('pruning usage events', () => {
  it('deletes the events older than the retention in small batches, and keeps the rest', async () => {
    expect(t.config.usage.retentionDays).toBe(90);
    const alice = await t.user();
    const old = await mintToken(t, alice.jwt, { name: 'old' });
    const recent = await mintToken(t, alice.jwt, { name: 'recent' });
    const cutoff = new Date(Date.now() - t.config.usage.retentionDays * DAY);
    await bulkInsert(old.token.id, 2_500, new Date(cutoff.getTime() - DAY));
    await bulkInsert(recent.token.id, 10, new Date(Date.now() - DAY));
    // Exactly at the cutoff is not older than it.
    await bulkInsert(recent.token.id, 1, cutoff);
    expect(await countEvents(t, old.token.id)).toBe(2_500);

    const { result: deleted, statements } = await t.countStatements(() => t.app.usage.prune(cutoff));

    expect(deleted).toBe(2_500);
    expect(await countEvents(t, old.token.id)).toBe(0);
    expect(await countEvents(t, recent.token.id)).toBe(11);
    // Batches of at most 1,000 rows: 1,000 + 1,000 + 500.
    const deletes = statements.filter((sql) => /delete from usage_events/i.test(sql));
    expect(deletes).toHaveLength(3);
    expect(deletes.every((sql) => /limit 1000\b/i.test(sql))).toBe(true);

    // Nothing left to prune.
    expect(await t.app.usage.prune(cutoff)).toBe(0);
    expect(await countEvents(t, recent.token.id)).toBe(11);
  });

  it('an exact multiple of the batch size stops cleanly', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'exactly two batches' });
    const cutoff = new Date(Date.now() - 200 * DAY);
    await bulkInsert(token.id, 2_000, new Date(cutoff.getTime() - DAY));
    expect(await t.app.usage.prune(cutoff)).toBe(2_000);
    expect(await countEvents(t, token.id)).toBe(0);
  });
});

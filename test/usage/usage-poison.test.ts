import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageEventDraft } from '../../src/modules/usage/pending-usage.js';
import { createTestApp, dbId, mintToken, resourceServer, type TestApp } from '../harness.js';

/**
 * One event the database refuses must not stop the others: the recorder isolates it, writes the
 * rest, drops (and counts) only what was refused, and keeps flushing afterwards.
 */

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function setup() {
  // Time never flushes by itself: each test decides when.
  const t = await createTestApp({ env: { USAGE_FLUSH_INTERVAL_MS: '600000', USAGE_FLUSH_BATCH: '10000' } });
  apps.push(t);
  const owner = await t.user({ permissions: ['tools.*'] });
  const minted = await mintToken(t, owner.jwt, { name: 'busy' });
  const tokenId = dbId(minted.token.id);
  const draft = (endpoint: string, token = tokenId): UsageEventDraft => ({
    tokenId: token,
    occurredAt: new Date(),
    endpoint,
    method: 'GET',
    clientIp: '198.51.100.7',
    userAgent: 'test',
    outcome: 'VALID',
    blocked: false,
    blockReason: null,
    countsTowardUsage: true,
  });
  const stored = async () =>
    t.orm.em.getConnection().execute<{ endpoint: string }[]>(`select endpoint from usage_events where token_id = ? order by endpoint`, [tokenId]);
  return { t, owner, minted, tokenId, draft, stored };
}

describe('a poisoned usage batch', () => {
  it('an event PostgreSQL cannot store (NUL, a token that does not exist) is dropped; every other one is written', async () => {
    const { t, draft, stored } = await setup();
    const good = Array.from({ length: 50 }, (_, i) => `/good/${String(i).padStart(2, '0')}`);
    good.slice(0, 20).forEach((endpoint) => t.app.usage.record(draft(endpoint)));
    // Straight into the recorder: the verifier would have cleaned the NUL away.
    t.app.usage.record(draft('/poison\u0000here'));
    good.slice(20, 35).forEach((endpoint) => t.app.usage.record(draft(endpoint)));
    t.app.usage.record(draft('/orphan', randomUUID()));
    good.slice(35).forEach((endpoint) => t.app.usage.record(draft(endpoint)));

    await t.app.usage.flush();
    expect((await stored()).map((row) => row.endpoint)).toEqual(good);
    expect(t.app.usage.dropped).toBe(2);
    expect(t.app.usage.pending).toBe(0);

    // And it keeps going: the next flush writes as usual.
    t.app.usage.record(draft('/after'));
    await t.app.usage.flush();
    expect((await stored()).map((row) => row.endpoint)).toContain('/after');
  });

  it('usageCount and lastUsedAt keep moving for the events that were written', async () => {
    const { t, owner, minted, draft } = await setup();
    for (let i = 0; i < 5; i += 1) t.app.usage.record(draft(`/ok/${i}`));
    t.app.usage.record(draft('/bad\u0000'));
    await t.app.usage.flush();
    const token = await t.gql(`query($id: ID!) { token(id: $id) { usageCount lastUsedAt } }`, { id: minted.token.id }, { token: owner.jwt });
    expect(token.data.token.usageCount).toBe(5);
    expect(token.data.token.lastUsedAt).not.toBeNull();
  });

  it('a clean stop (App.close) writes everything it can, poison or not', async () => {
    const { t, draft, stored } = await setup();
    t.app.usage.record(draft('/before'));
    t.app.usage.record(draft('/bad\u0000'));
    t.app.usage.record(draft('/after'));
    await t.app.close();
    // close() ended the recorder; read with the ORM still open.
    expect((await stored()).map((row) => row.endpoint)).toEqual(['/after', '/before']);
  });

  it('a verification whose metadata holds NUL and control characters is recorded, cleaned', async () => {
    const { t, minted } = await setup();
    const rs = await resourceServer(t);
    const verified = await t.gql(
      `mutation($input: VerifyTokenInput!) { verifyToken(input: $input) { outcome verificationId } }`,
      { input: { token: minted.secret, endpoint: '/a\u0000b\u0007c', method: 'GE\u0000T', userAgent: `agent\r\n\u0000${'x'.repeat(600)}` } },
      { token: rs.secret },
    );
    expect(verified.data.verifyToken.outcome).toBe('VALID');
    await t.app.usage.flush();
    const [row] = await t.orm.em
      .getConnection()
      .execute<{ endpoint: string; method: string; user_agent: string }[]>(`select endpoint, method, user_agent from usage_events where id = ?`, [
        verified.data.verifyToken.verificationId,
      ]);
    expect(row).toMatchObject({ endpoint: '/abc', method: 'GET' });
    expect(row!.user_agent).toMatch(/^agentx+$/);
    expect(row!.user_agent).toHaveLength(512);
    expect(t.app.usage.dropped).toBe(0);
  });
});

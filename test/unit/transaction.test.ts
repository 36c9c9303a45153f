import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCommit, inTransaction } from '../../src/db/transaction.js';
import { createTestApp, type TestApp } from '../harness.js';

/** After-commit hooks: what lets a change and its announcement be one call. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const count = async () =>
  Number((await t.orm.em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from users where subject like 'tx-hook-%'`))[0]!.n);
const insert = (tx: Parameters<typeof afterCommit>[0], subject: string) =>
  tx.getConnection().execute(
    `insert into users (id, subject, email, permissions, is_admin, created_at, updated_at) values (gen_random_uuid(), ?, 'x@example.com', '{}', false, now(), now())`,
    [subject],
    'run',
    tx.getTransactionContext(),
  );

describe('inTransaction and afterCommit', () => {
  it('runs the hooks once the transaction has committed, and sees the committed change', async () => {
    const seen: number[] = [];
    await inTransaction(t.orm.em.fork(), async (tx) => {
      await insert(tx, 'tx-hook-1');
      afterCommit(tx, () => seen.push(-1));
      afterCommit(tx, () => void count().then((n) => seen.push(n)));
      expect(seen).toEqual([]);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([-1, 1]);
  });

  it('never runs them when the transaction rolls back', async () => {
    let ran = false;
    await expect(
      inTransaction(t.orm.em.fork(), async (tx) => {
        await insert(tx, 'tx-hook-2');
        afterCommit(tx, () => (ran = true));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(ran).toBe(false);
    expect(await count()).toBe(1);
  });

  it('a nested call joins the outer transaction: its hooks wait for the outer commit, and its rollback is the outer one', async () => {
    const order: string[] = [];
    await expect(
      inTransaction(t.orm.em.fork(), async (outer) => {
        await inTransaction(outer, async (inner) => {
          expect(inner).toBe(outer);
          await insert(inner, 'tx-hook-3');
          afterCommit(inner, () => order.push('inner hook'));
        });
        order.push('outer work done');
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(order).toEqual(['outer work done']);
    expect(await count()).toBe(1);
  });

  it('refuses a hook outside a transaction it opened: an announcement with no commit to wait for', () => {
    expect(() => afterCommit(t.orm.em.fork(), () => {})).toThrow(/inTransaction/);
  });
});

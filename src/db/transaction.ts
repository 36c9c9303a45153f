import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Transactions with after-commit hooks. Some changes must be told to the world (other
 * instances' caches, subscribers) but only once they are durable: a hook registered inside the
 * transaction runs after its commit, and never if it rolls back. So a change and its
 * announcement are one call, wherever the transaction was opened.
 */
const hooksOf = new WeakMap<EntityManager, (() => void)[]>();

export async function inTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  const hooks: (() => void)[] = [];
  const result = await em.transactional((tx) => {
    hooksOf.set(tx, hooks);
    return work(tx);
  });
  for (const hook of hooks) hook();
  return result;
}

/** Runs `hook` once the transaction `tx` (opened by inTransaction) has committed. */
export function afterCommit(tx: EntityManager, hook: () => void): void {
  const hooks = hooksOf.get(tx);
  // A programming error, not a caller's: an announcement with no commit to wait for could tell
  // other instances about a change that then rolls back.
  if (!hooks) throw new Error('afterCommit needs a transaction opened by inTransaction');
  hooks.push(hook);
}

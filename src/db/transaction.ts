import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Transactions with after-commit hooks. Some changes must be told to the world (other
 * instances' caches, subscribers) but only once they are durable: a hook registered inside the
 * transaction runs after its commit, and never if it rolls back. So a change and its
 * announcement are one call.
 *
 * inTransaction given a transaction it opened itself joins it (no savepoint): the hooks then wait
 * for the outermost commit. A transaction must be passed down as the `tx` it hands out; a new one
 * opened from the request's entity manager while another is open is a second transaction.
 */
const hooksOf = new WeakMap<EntityManager, (() => void)[]>();

export async function inTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  if (hooksOf.has(em)) return work(em);
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

import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { DatabaseTarget } from './orm.js';

/** Any fixed 64-bit number will do; it only has to be the same for every Keymint instance. */
const MIGRATION_LOCK_KEY = '7318265400113';

/**
 * Applies pending migrations. On a server, several instances may start at once, so the run is
 * serialised with a session-level advisory lock held on a connection of its own: the others
 * wait, then find nothing left to do. PGlite is private to one process, so it needs no lock.
 */
export async function migrate(orm: MikroORM, target: DatabaseTarget): Promise<string[]> {
  // PGlite is private to one process (no lock) and has no statement timeout to lift.
  if (target.kind === 'embedded') return (await orm.getMigrator().up()).map((migration) => migration.name);
  // On a server: one transaction for every pending migration (all or nothing), free of the
  // statement timeout that bounds requests, since building an index on a large table takes time.
  const run = () =>
    orm.em.getConnection().transactional(async (trx) => {
      await trx.raw('set local statement_timeout = 0');
      return (await orm.getMigrator().up({ transaction: trx })).map((migration) => migration.name);
    });

  const lockClient = new pg.Client({ connectionString: target.url });
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return await run();
  } finally {
    // Closing the session releases the lock even if the unlock itself fails.
    await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockClient.end();
  }
}

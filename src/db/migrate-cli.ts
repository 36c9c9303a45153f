import { ConfigError, loadConfig } from '../config.js';
import { databaseTarget } from '../db/target.js';
import { createOrm } from './orm.js';
import { migrate } from './migrate.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
async function main(): Promise<void> {
  const config = loadConfig();
  const target = databaseTarget(config);
  const orm = await createOrm(target);
  try {
    const applied = await migrate(orm, target);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});

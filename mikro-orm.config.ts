import { defineConfig } from '@mikro-orm/postgresql';
import { loadConfig } from './src/config.js';
import { baseOptions } from './src/db/orm.js';

/**
 * For the MikroORM CLI (`npm run migration:create`), which diffs the entities against a
 * PostgreSQL server: DATABASE_URL must point at one that has every migration applied.
 * The service itself builds its ORM in src/db/orm.ts and never runs schema:update.
 */
const config = loadConfig();
if (!config.database.url) {
  throw new Error('Set DATABASE_URL to a PostgreSQL server to use the MikroORM CLI');
}

export default defineConfig({ ...baseOptions(), clientUrl: config.database.url });

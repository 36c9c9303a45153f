import type { Config } from '../config.js';
import type { DatabaseTarget } from './orm.js';

/** DATABASE_URL means a PostgreSQL server; without it, the embedded database in DATA_DIR. */
export function databaseTarget(config: Config): DatabaseTarget {
  return config.database.url
    ? { kind: 'server', url: config.database.url, poolMax: config.database.poolMax, statementTimeoutMs: config.statementTimeoutMs }
    : { kind: 'embedded', dataDir: config.database.dataDir };
}

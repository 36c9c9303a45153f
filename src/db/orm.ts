import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { PGliteDriver, type PGliteConnectionConfig } from 'mikro-orm-pglite';
import { UserSchema } from '../modules/user/user.entity.js';
import { TeamSchema } from '../modules/team/team.entity.js';
import { TeamMemberSchema } from '../modules/team/team-member.entity.js';
import { TokenSchema } from '../modules/token/token.entity.js';
import { RevocationSchema } from '../modules/token/revocation.entity.js';
import { UsageEventSchema } from '../modules/usage/usage-event.entity.js';
import { AuditEventSchema } from '../modules/audit/audit-event.entity.js';
import { RetiredSecretSchema } from '../modules/token/retired-secret.entity.js';
import { SigningKeySchema } from '../modules/exchange/signing-key.entity.js';
import { migrationsList } from './migrations/index.js';
import { patchPgliteStatementSplitting } from './pglite-statements.js';

export const entities = [
  UserSchema,
  TeamSchema,
  TeamMemberSchema,
  TokenSchema,
  RevocationSchema,
  RetiredSecretSchema,
  UsageEventSchema,
  AuditEventSchema,
  SigningKeySchema,
];

/**
 * Where the data lives: a PostgreSQL server, or PGlite (PostgreSQL compiled to WASM) in this
 * process, persisted to `dataDir` or, without one, in memory (tests).
 */
export type DatabaseTarget =
  | { kind: 'server'; url: string; poolMax?: number; statementTimeoutMs?: number }
  | { kind: 'embedded'; dataDir?: string };

/** How long to wait for a connection to open, or for a free one in the pool, before calling the database unavailable. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface OrmOptions {
  /** Called with every SQL statement the ORM sends; tests count statements with it. */
  onQuery?: (sql: string) => void;
}

export function baseOptions(): Options {
  return {
    entities,
    extensions: [Migrator],
    forceUtcTimezone: true,
    allowGlobalContext: false,
    // Every schema change goes through a committed migration, never schema:update.
    migrations: {
      migrationsList,
      path: 'src/db/migrations',
      pathTs: 'src/db/migrations',
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
    discovery: { warnWhenNoEntities: true },
  };
}

export async function createOrm(target: DatabaseTarget, options: OrmOptions = {}): Promise<MikroORM> {
  const onQuery = options.onQuery;
  const common: Options = {
    ...baseOptions(),
    onQuery: (sql) => {
      onQuery?.(sql);
      return sql;
    },
  };
  if (target.kind === 'server') {
    return MikroORM.init({
      ...common,
      clientUrl: target.url,
      pool: { min: 0, max: target.poolMax ?? 10, acquireTimeoutMillis: CONNECT_TIMEOUT_MS },
      // Passed to node-postgres: every statement on every pooled connection is bounded, so one
      // request cannot hold the database; background work lifts it for its own transaction.
      driverOptions: {
        connection: {
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          keepAlive: true,
          ...(target.statementTimeoutMs ? { statement_timeout: target.statementTimeoutMs } : {}),
        },
      },
    });
  }
  const pglite = await openPglite(target.dataDir);
  const orm = await MikroORM.init({
    ...common,
    driver: PGliteDriver as never,
    dbName: 'postgres',
    driverOptions: { connection: { pglite: () => pglite } satisfies PGliteConnectionConfig },
  });
  // The driver borrows the PGlite instance, so closing the ORM must close it too.
  const close = orm.close.bind(orm);
  orm.close = async (force?: boolean) => {
    await close(force);
    if (!pglite.closed) await pglite.close();
  };
  return orm;
}

async function openPglite(dataDir: string | undefined): Promise<PGlite> {
  patchPgliteStatementSplitting();
  if (!dataDir) return PGlite.create();
  const dir = path.resolve(dataDir, 'pgdata');
  await mkdir(dir, { recursive: true });
  return PGlite.create(dir);
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { DatabaseTarget } from '../src/db/orm.js';

/**
 * Where the benchmark's data lives. With a server URL, a throwaway database is created on that
 * server (so the figures never mix with anything already there) and dropped afterwards; without
 * one, an in-memory PGlite, which vanishes with the process.
 */
export interface BenchDatabase {
  target: DatabaseTarget;
  /** For the report: which engine, and where, without credentials. */
  description: string;
  drop: () => Promise<void>;
}

export async function openBenchDatabase(
  serverUrl: string | undefined,
  poolMax: number,
): Promise<BenchDatabase> {
  if (!serverUrl) {
    return { target: { kind: 'embedded' }, description: 'embedded PGlite (in memory)', drop: async () => {} };
  }

  const name = `keymint_bench_${process.pid}_${randomUUID().slice(0, 8)}`;
  await withAdminClient(serverUrl, (client) => client.query(`create database "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'server', url: url.toString(), poolMax },
    description: `PostgreSQL server ${url.host}, temporary database ${name}`,
    drop: () => withAdminClient(serverUrl, (client) => client.query(`drop database if exists "${name}" with (force)`)),
  };
}

async function withAdminClient(serverUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printContract } from '../src/schema.js';
import { createOrm } from '../src/db/orm.js';
import { migrate } from '../src/db/migrate.js';
import { migrationsList } from '../src/db/migrations/index.js';
import { createTestApp, type TestApp } from './harness.js';

describe('schema.graphql', () => {
  it('is in sync with the code (run `npm run schema` and commit the result)', () => {
    const checkedIn = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(checkedIn).toBe(printContract());
  });

  it('keeps the contract names', () => {
    const contract = printContract();
    for (const name of [
      'union MintTokenResult = ConflictError | ForbiddenError | MintTokenPayload | NotFoundError | RateLimitedError | ValidationError',
      'type TokenConnection',
      'type TokenEdge',
      'mintToken(input: MintTokenInput!): MintTokenResult!',
      'updateToken(input: UpdateTokenInput!): UpdateTokenResult!',
      'revokeToken(input: RevokeTokenInput!): RevokeTokenResult!',
      'token(id: ID!): Token',
      'viewer: Viewer!',
      'type Token implements Node',
      'type Team implements Node',
      'interface Error',
    ]) {
      expect(contract).toContain(name);
    }
  });
});

describe('migrations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('produce exactly the schema the entities describe (no drift)', async () => {
    const diff = await t.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('are idempotent: a second run applies nothing', async () => {
    expect(await migrate(t.orm, t.target)).toEqual([]);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('migrations on a PostgreSQL server', () => {
  it('several instances starting at once: one migrates, the others wait and find nothing to do', async () => {
    const serverUrl = process.env.TEST_DATABASE_URL!;
    const name = `keymint_test_migrate_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const target = { kind: 'server' as const, url: url.toString(), poolMax: 2 };
    const orms = await Promise.all([1, 2, 3, 4].map(() => createOrm(target)));
    try {
      const applied = await Promise.all(orms.map((orm) => migrate(orm, target)));
      expect(applied.filter((names) => names.length > 0)).toHaveLength(1);
      expect(applied.flat()).toEqual(migrationsList.map((migration) => migration.name));
    } finally {
      await Promise.all(orms.map((orm) => orm.close(true)));
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createApp, type App } from '../src/app.js';
import { signSession } from '../src/auth/session-signer.js';
import { loadConfig, type Config } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { createOrm } from '../src/db/orm.js';
import { createLogger, type Logger } from '../src/logger.js';
import { openBenchDatabase, type BenchDatabase } from './database.js';
import { expectData, graphqlCall, HttpClient } from './http.js';
import type { Settings } from './settings.js';

/**
 * What every suite runs against: a fresh database (temporary on a server, or in-memory PGlite),
 * migrated; the App with the service's default configuration (logging off); its node:http
 * listener on a free port; and a keep-alive client. Each suite gets its own, so that no suite's
 * data or buffered usage weighs on another's figures.
 */
export interface BenchEnvironment {
  config: Config;
  logger: Logger;
  orm: MikroORM;
  database: BenchDatabase;
  app: App;
  /** Where the App listens, on 127.0.0.1. */
  port: number;
  client: HttpClient;
  statements: StatementRecorder;
}

export const SESSION_SECRET = 'bench-session-secret-that-is-long-enough-for-hs256';

/** Ctrl-C during a run: stop sending, then clean up as after a normal run. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted: stopped early, the temporary database (if any) has been dropped');
  }
}

/** Records the SQL the ORM sends, but only while asked to: never under load. */
export class StatementRecorder {
  private recording: string[] | null = null;

  readonly onQuery = (sql: string) => {
    this.recording?.push(sql);
  };

  async during(work: () => Promise<unknown>): Promise<string[]> {
    const statements: string[] = [];
    this.recording = statements;
    try {
      await work();
      return statements;
    } finally {
      this.recording = null;
    }
  }
}

/**
 * Sets up the database, the ORM, the App and its server, runs `work`, and takes them all down
 * again, whatever happens. `configEnv` adds to the service's default configuration (the
 * propagation suite's REDIS_URL).
 */
export async function withEnvironment<T>(
  settings: Settings,
  work: (env: BenchEnvironment) => Promise<T>,
  configEnv: Record<string, string> = {},
): Promise<T> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_JWT_SECRET: SESSION_SECRET, ...configEnv });
  const logger = createLogger(config);
  const database = await openBenchDatabase(settings.serverUrl, config.database.poolMax);
  console.log(`database: ${database.description}`);
  try {
    const statements = new StatementRecorder();
    const orm = await createOrm(database.target, { onQuery: statements.onQuery });
    let app: App | undefined;
    let server: Server | undefined;
    let client: HttpClient | undefined;
    try {
      await migrate(orm, database.target);
      app = createApp({ config, orm, logger, sessionSecret: SESSION_SECRET });
      server = createServer(app.handle);
      const port = await listen(server);
      client = new HttpClient(settings.concurrency);
      return await work({ config, logger, orm, database, app, port, client, statements });
    } finally {
      client?.close();
      if (server) await closeServer(server);
      // Writes what the usage buffer still holds, before the ORM goes.
      await app?.close();
      await orm.close(true);
    }
  } finally {
    await database.drop();
  }
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Signs a session for a user and sends one `viewer` request, which creates the user row, as a first sign-in would. */
export async function signIn(
  env: BenchEnvironment,
  user: { subject: string; email: string; permissions: string[] },
): Promise<{ jwt: string; userId: string }> {
  const jwt = await signSession(SESSION_SECRET, user);
  const data = await expectData(env.client, graphqlCall(env.port, 'query { viewer { id } }', jwt));
  const row = await env.orm.em
    .getConnection()
    .execute<{ id: string }>('select id from users where subject = ?', [user.subject], 'get');
  if (!data.viewer?.id || !row?.id) throw new Error(`no user row for ${user.subject}: the viewer request should have created it`);
  return { jwt, userId: row.id };
}

const MINT = `mutation Mint($input: MintTokenInput!) {
  mintToken(input: $input) { __typename ... on MintTokenPayload { secret token { id } } ... on Error { message } }
}`;

const REVOKE = `mutation Revoke($input: RevokeTokenInput!) {
  revokeToken(input: $input) { __typename ... on RevokeTokenPayload { token { id status } } ... on Error { message } }
}`;

/** Mints a token through the API, as its owner would; its global id and its secret. */
export async function mintToken(
  env: BenchEnvironment,
  jwt: string,
  input: { name: string; permissions?: string[] },
): Promise<{ id: string; secret: string }> {
  const data = await expectData(env.client, graphqlCall(env.port, MINT, jwt, { input: { expiresInDays: 30, ...input } }));
  if (data.mintToken.__typename !== 'MintTokenPayload') throw new Error(`mintToken failed: ${JSON.stringify(data.mintToken)}`);
  return { id: data.mintToken.token.id, secret: data.mintToken.secret };
}

export async function revokeToken(env: BenchEnvironment, jwt: string, id: string): Promise<void> {
  const data = await expectData(env.client, graphqlCall(env.port, REVOKE, jwt, { input: { id, reason: 'benchmark' } }));
  if (data.revokeToken.token?.status !== 'REVOKED') throw new Error(`revokeToken failed: ${JSON.stringify(data.revokeToken)}`);
}

/** What every suite's result file starts with: when, on which Node, on which database. */
export function resultHeader(database: BenchDatabase) {
  return {
    finishedAt: new Date().toISOString(),
    node: process.version,
    database: {
      kind: database.target.kind,
      description: database.description,
      poolMax: database.target.kind === 'server' ? (database.target.poolMax ?? null) : null,
    },
  };
}

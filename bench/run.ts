import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createApp } from '../src/app.js';
import { signSession } from '../src/auth/session-signer.js';
import { loadConfig, type Config } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { createOrm } from '../src/db/orm.js';
import { createLogger } from '../src/logger.js';
import { openBenchDatabase, type BenchDatabase } from './database.js';
import { compareThroughput, GraphQLClient, graphqlCall, type GraphQLCall } from './load.js';
import { LIST_LABEL, printReport, writeResult, type BenchResult } from './report.js';
import { seedTokens } from './seed.js';

/**
 * `npm run bench`: what listing a page of 50 tokens costs, in SQL statements and in throughput,
 * measured against `viewer` (authentication plus one trivial field) in the same run. See
 * bench/README.md for how to read the figures.
 */

const TOKENS = 10_000;
const PAGE_SIZE = 50;
/** Each query's measured time is split into interleaved rounds of about this length. */
const ROUND_SECONDS = 2.5;
const SESSION_SECRET = 'bench-session-secret-that-is-long-enough-for-hs256';
const SUBJECT = 'bench|owner';
const RESULT_FILE = fileURLToPath(new URL('./results/latest.json', import.meta.url));

const VIEWER_QUERY = 'query { viewer { id email } }';
const LIST_QUERY = `query { tokens(first: ${PAGE_SIZE}, includeInactive: true) { totalCount edges { node { id name status revocation { revokedAt reason } owner { id email } team { id name } } } pageInfo { hasNextPage endCursor } } }`;

interface Settings {
  serverUrl: string | undefined;
  secondsPerQuery: number;
  concurrency: number;
  warmupSeconds: number;
}

/** Ctrl-C during the load: stop sending, then clean up as after a normal run. */
class Interrupted extends Error {
  constructor() {
    super('interrupted: stopped early, the temporary database (if any) has been dropped');
  }
}

/** Records the SQL the ORM sends, but only while asked to: never under load. */
class StatementRecorder {
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

function readSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    serverUrl: env.BENCH_DATABASE_URL || env.DATABASE_URL || undefined,
    secondsPerQuery: positiveNumber(env, 'BENCH_SECONDS', 5),
    concurrency: Math.round(positiveNumber(env, 'BENCH_CONCURRENCY', 16)),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP_SECONDS', 1),
  };
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** Sets up the database, the ORM and the HTTP server, and takes them all down again, whatever happens. */
async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const interrupted = new AbortController();
  // Once only: a second Ctrl-C kills the process outright, should the clean-up itself hang.
  process.once('SIGINT', () => interrupted.abort());

  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_JWT_SECRET: SESSION_SECRET });
  const database = await openBenchDatabase(settings.serverUrl, config.database.poolMax);
  console.log(`database: ${database.description}`);
  try {
    const recorder = new StatementRecorder();
    const orm = await createOrm(database.target, { onQuery: recorder.onQuery });
    let server: Server | undefined;
    let client: GraphQLClient | undefined;
    try {
      await migrate(orm, database.target);
      const app = createApp({ config, orm, logger: createLogger(config), sessionSecret: config.auth.jwtSecret });
      server = createServer(app.handle);
      client = new GraphQLClient(await listen(server), settings.concurrency);
      const result = await benchmark({ config, orm, database, client, recorder, settings, signal: interrupted.signal });
      printReport(result);
      await writeResult(result, RESULT_FILE);
      console.log(`written to ${RESULT_FILE}`);
    } finally {
      client?.close();
      if (server) await closeServer(server);
      await orm.close(true);
    }
  } finally {
    await database.drop();
  }
}

interface BenchmarkParts {
  config: Config;
  orm: MikroORM;
  database: BenchDatabase;
  client: GraphQLClient;
  recorder: StatementRecorder;
  settings: Settings;
  signal: AbortSignal;
}

async function benchmark(parts: BenchmarkParts): Promise<BenchResult> {
  const { config, orm, database, client, recorder, settings, signal } = parts;
  const jwt = await signSession(SESSION_SECRET, { subject: SUBJECT, email: 'owner@bench.example', permissions: ['tools.*'] });
  const viewer = graphqlCall(VIEWER_QUERY, jwt);
  const list = graphqlCall(LIST_QUERY, jwt);

  // The first viewer request creates the user row that the tokens belong to.
  await expectSuccess(client, viewer);
  console.log(`seeding ${TOKENS.toLocaleString('en-US')} tokens…`);
  const seedStarted = performance.now();
  const seeded = await seedTokens(orm, {
    ownerId: await userIdOf(orm, SUBJECT),
    tokenPrefix: config.tokens.prefix,
    tokens: TOKENS,
    teams: 2,
    revokeEvery: 10,
    batchSize: 1_000,
  });
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  checkListPage(await expectSuccess(client, list), TOKENS);

  // A few requests first, so that the counts are of a warm process, not of first-use work.
  for (let i = 0; i < 3; i += 1) {
    await expectSuccess(client, viewer);
    await expectSuccess(client, list);
  }
  const statements = {
    viewer: await recorder.during(() => expectSuccess(client, viewer)),
    list: await recorder.during(() => expectSuccess(client, list)),
  };

  console.log('measuring throughput…');
  const { rounds, stats } = await compareThroughput(client, [['viewer', viewer], ['list', list]], {
    concurrency: settings.concurrency,
    seconds: settings.secondsPerQuery,
    warmupSeconds: settings.warmupSeconds,
    roundSeconds: ROUND_SECONDS,
    signal,
  });
  if (signal.aborted) throw new Interrupted();

  return {
    finishedAt: new Date().toISOString(),
    node: process.version,
    database: {
      kind: database.target.kind,
      description: database.description,
      poolMax: database.target.kind === 'server' ? (database.target.poolMax ?? null) : null,
    },
    seed: { ...seeded, seconds: seedSeconds },
    load: {
      concurrency: settings.concurrency,
      secondsPerQuery: settings.secondsPerQuery,
      rounds,
      warmupSeconds: settings.warmupSeconds,
    },
    statements,
    throughput: stats,
    ratio: stats.list.requestsPerSecond / stats.viewer.requestsPerSecond,
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function userIdOf(orm: MikroORM, subject: string): Promise<string> {
  const row = await orm.em
    .getConnection()
    .execute<{ id: string }>('select id from users where subject = ?', [subject], 'get');
  if (!row?.id) throw new Error(`no user row for ${subject}: the viewer request should have created it`);
  return row.id;
}

/** Sends one request and stops the run if it did not succeed: a benchmark of errors is worthless. */
async function expectSuccess(client: GraphQLClient, call: GraphQLCall): Promise<any> {
  const { status, body } = await client.send(call);
  const parsed = JSON.parse(body);
  if (status !== 200 || parsed.errors) {
    throw new Error(`request failed (${status}): ${body.slice(0, 500)}\nquery: ${call.query}`);
  }
  return parsed.data;
}

/** The page must hold what the benchmark claims to measure: 50 tokens, some revoked, some in teams. */
function checkListPage(data: any, expectedTotal: number): void {
  const connection = data.tokens;
  const nodes: any[] = connection.edges.map((edge: any) => edge.node);
  const problems = [
    connection.totalCount === expectedTotal ? null : `totalCount ${connection.totalCount}, expected ${expectedTotal}`,
    nodes.length === PAGE_SIZE ? null : `${nodes.length} edges, expected ${PAGE_SIZE}`,
    nodes.some((node) => node.revocation) ? null : 'no revoked token on the page',
    nodes.some((node) => node.team) ? null : 'no team token on the page',
    nodes.every((node) => node.owner?.email) ? null : 'a token without its owner',
  ].filter((problem) => problem !== null);
  if (problems.length > 0) throw new Error(`${LIST_LABEL} returned the wrong page: ${problems.join('; ')}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Interrupted ? error.message : error);
  process.exitCode = 1;
});

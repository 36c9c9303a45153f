import { performance } from 'node:perf_hooks';
import { Interrupted, signIn, resultHeader, type BenchEnvironment } from './environment.js';
import { expectData, graphqlCall } from './http.js';
import { compareThroughput, type LoadStats } from './load.js';
import { int, LOAD_HEADER, loadCells, ratio, row, truncate, type RunInfo } from './report.js';
import { seedTokens, type SeedSummary } from './seed.js';
import type { Settings } from './settings.js';

/**
 * The `list` suite: what listing a page of 50 tokens costs, in SQL statements and in throughput,
 * measured against `viewer` (authentication plus one trivial field) in the same run.
 */

const TOKENS = 10_000;
const PAGE_SIZE = 50;
/** Each query's measured time is split into interleaved rounds of about this length. */
const ROUND_SECONDS = 2.5;
const SUBJECT = 'bench|owner';
export const LIST_LABEL = 'tokens(first: 50)';

const VIEWER_QUERY = 'query { viewer { id email } }';
const LIST_QUERY = `query { tokens(first: ${PAGE_SIZE}, includeInactive: true) { totalCount edges { node { id name status revocation { revokedAt reason } owner { id email } team { id name } } } pageInfo { hasNextPage endCursor } } }`;
const STATEMENT_WIDTH = 110;

export interface ListResult extends RunInfo {
  seed: SeedSummary & { seconds: number };
  load: { concurrency: number; secondsPerQuery: number; rounds: number; warmupSeconds: number };
  statements: { viewer: string[]; list: string[] };
  throughput: { viewer: LoadStats; list: LoadStats };
  /** list req/s divided by viewer req/s: the share of viewer throughput a page of 50 keeps. */
  ratio: number;
}

export async function runListBench(env: BenchEnvironment, settings: Settings, signal: AbortSignal): Promise<ListResult> {
  const { config, orm, database, client, port, statements: recorder } = env;
  // The first viewer request creates the user row that the tokens belong to.
  const { jwt, userId } = await signIn(env, { subject: SUBJECT, email: 'owner@bench.example', permissions: ['tools.*'] });
  const viewer = graphqlCall(port, VIEWER_QUERY, jwt);
  const list = graphqlCall(port, LIST_QUERY, jwt);

  console.log(`seeding ${int(TOKENS)} tokens…`);
  const seedStarted = performance.now();
  const seeded = await seedTokens(orm, {
    ownerId: userId,
    tokenPrefix: config.tokens.prefix,
    tokens: TOKENS,
    teams: 2,
    revokeEvery: 10,
    batchSize: 1_000,
  });
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  client.dropIdleConnections();
  checkListPage(await expectData(client, list), TOKENS);

  // A few requests first, so that the counts are of a warm process, not of first-use work.
  for (let i = 0; i < 3; i += 1) {
    await expectData(client, viewer);
    await expectData(client, list);
  }
  const statements = {
    viewer: await recorder.during(() => expectData(client, viewer)),
    list: await recorder.during(() => expectData(client, list)),
  };

  console.log('measuring throughput…');
  const { rounds, stats } = await compareThroughput(client, [['viewer', viewer], ['list', list]], {
    concurrency: settings.concurrency,
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    roundSeconds: ROUND_SECONDS,
    signal,
  });
  if (signal.aborted) throw new Interrupted();

  return {
    ...resultHeader(database),
    seed: { ...seeded, seconds: seedSeconds },
    load: { concurrency: settings.concurrency, secondsPerQuery: settings.seconds, rounds, warmupSeconds: settings.warmupSeconds },
    statements,
    throughput: stats,
    ratio: stats.list.requestsPerSecond / stats.viewer.requestsPerSecond,
  };
}

export function printListReport(result: ListResult): void {
  const { seed, load, statements, throughput } = result;
  const lines = [
    '',
    `Keymint benchmark: ${LIST_LABEL} with revocation, owner and team vs. viewer`,
    '',
    `database   ${result.database.description}${result.database.poolMax ? ` (pool of ${result.database.poolMax})` : ''}`,
    `seeded     ${int(seed.tokens)} tokens for one user: ${int(seed.revoked)} revoked, ${int(seed.inTeams)} in ${seed.teams} teams (${seed.seconds.toFixed(1)} s)`,
    `load       ${load.concurrency} concurrent keep-alive callers, ${load.secondsPerQuery} s per query in ${load.rounds} interleaved rounds, after ${load.warmupSeconds} s warm-up each`,
    '',
    'SQL statements per request',
    ...statementLines('viewer', statements.viewer),
    ...statementLines(LIST_LABEL, statements.list),
    '',
    'Throughput over HTTP',
    row(['query', ...LOAD_HEADER]),
    row(['viewer', ...loadCells(throughput.viewer)]),
    row([LIST_LABEL, ...loadCells(throughput.list)]),
    '',
    `ratio list/viewer  ${ratio(result.ratio)}  (a page of 50 costs about ${(1 / result.ratio).toFixed(1)} viewer requests)`,
    '',
  ];
  console.log(lines.join('\n'));
}

function statementLines(label: string, statements: string[]): string[] {
  return [
    `  ${label.padEnd(20)} ${statements.length}`,
    ...statements.map((sql, i) => `      ${i + 1}. ${truncate(sql.replace(/\s+/g, ' ').trim(), STATEMENT_WIDTH)}`),
  ];
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

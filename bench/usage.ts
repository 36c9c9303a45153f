import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import { parseGlobalId } from '../src/global-id.js';
import type { UsageEventDraft } from '../src/modules/usage/pending-usage.js';
import { periodEnding } from '../src/modules/usage/usage-stats.js';
import { Interrupted, mintToken, signIn, resultHeader, type BenchEnvironment } from './environment.js';
import { expectData, graphqlCall } from './http.js';
import { percentile } from './load.js';
import { int, ms, row, type RunInfo } from './report.js';
import { seedUsageEvents } from './seed.js';
import type { Settings } from './settings.js';

/**
 * The `usage` suite: how fast the UsageRecorder writes events to the database, and how long
 * `Token.usage(days: 30)` takes over a token with a million events.
 */

const OWNER = { subject: 'bench|usage-owner', email: 'usage@bench.example', permissions: ['tools.*'] };
/** Tokens the ingested events are spread over (each flush also updates their usage counts). */
const INGEST_TOKENS = 5;
const STATS_DAYS = 30;
const STATS_EVENTS_SERVER = 1_000_000;
/** PGlite holds the table in this process's memory and seeds it far slower: a smaller default. */
const STATS_EVENTS_EMBEDDED = 250_000;
const STATS_WARMUP_REQUESTS = 2;

const STATS_QUERY = `query Usage($id: ID!) { token(id: $id) { usage(days: ${STATS_DAYS}) {
  totalRequests successfulRequests blockedRequests successRate averageResponseTimeMs
  topEndpoints { endpoint count } blockReasons { reason count } daily { date totalRequests blockedRequests } } } }`;

export interface IngestionRun {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /**
   * INSERT statements the recorder sent through the ORM (seen by its query hook), and the events
   * per INSERT on average; null when none was seen (statements sent past the hook).
   */
  inserts: number;
  eventsPerInsert: number | null;
}

export interface UsageResult extends RunInfo {
  ingestion: { flushBatch: number; bySize: IngestionRun; backlog: IngestionRun };
  stats: {
    events: number;
    reducedForEmbedded: boolean;
    seedSeconds: number;
    requests: number;
    statementsPerRequest: number;
    p50Ms: number;
    p99Ms: number;
    minMs: number;
    maxMs: number;
    meanMs: number;
  };
}

export async function runUsageBench(env: BenchEnvironment, settings: Settings, signal: AbortSignal): Promise<UsageResult> {
  const { database, orm, client, port } = env;
  const { jwt } = await signIn(env, OWNER);
  const tokenIds: string[] = [];
  for (let i = 0; i < INGEST_TOKENS; i += 1) {
    tokenIds.push(parseGlobalId('Token', (await mintToken(env, jwt, { name: `bench ingest ${i + 1}` })).id)!);
  }

  console.log(`ingesting ${int(settings.usageEvents)} events through the UsageRecorder, by size…`);
  const bySize = await ingest(env, tokenIds, settings.usageEvents, 'by-size', signal);
  if (signal.aborted) throw new Interrupted();
  console.log(`ingesting ${int(settings.usageEvents)} events through the UsageRecorder, as one backlog…`);
  const backlog = await ingest(env, tokenIds, settings.usageEvents, 'backlog', signal);
  if (signal.aborted) throw new Interrupted();

  const statsToken = await mintToken(env, jwt, { name: 'bench stats' });
  const statsTokenId = parseGlobalId('Token', statsToken.id)!;
  const embedded = database.target.kind === 'embedded';
  const events = settings.statsEvents ?? (embedded ? STATS_EVENTS_EMBEDDED : STATS_EVENTS_SERVER);
  console.log(`seeding ${int(events)} events for one token over ${STATS_DAYS} days…`);
  const period = periodEnding(new Date(), STATS_DAYS);
  const seedStarted = performance.now();
  await seedUsageEvents(orm, { tokens: { tokenId: statsTokenId }, events, since: period.since, until: new Date(), signal });
  if (signal.aborted) throw new Interrupted();
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  client.dropIdleConnections();

  const call = graphqlCall(port, STATS_QUERY, jwt, { id: statsToken.id });
  for (let i = 0; i < STATS_WARMUP_REQUESTS; i += 1) checkStats(await expectData(client, call), events);
  const statements = await env.statements.during(() => expectData(client, call));
  console.log(`measuring usage(days: ${STATS_DAYS}), ${settings.statsRequests} requests one after another…`);
  const latencies: number[] = [];
  for (let i = 0; i < settings.statsRequests && !signal.aborted; i += 1) {
    const started = performance.now();
    const data = await expectData(client, call);
    latencies.push(performance.now() - started);
    checkStats(data, events);
  }
  if (signal.aborted) throw new Interrupted();
  latencies.sort((a, b) => a - b);

  return {
    ...resultHeader(database),
    ingestion: { flushBatch: env.config.usage.flushBatch, bySize, backlog },
    stats: {
      events,
      reducedForEmbedded: embedded && settings.statsEvents === undefined,
      seedSeconds,
      requests: latencies.length,
      statementsPerRequest: statements.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      minMs: latencies[0]!,
      maxMs: latencies.at(-1)!,
      meanMs: latencies.reduce((sum, value) => sum + value, 0) / latencies.length,
    },
  };
}

/**
 * Records `count` events through the App's UsageRecorder (the service's flush size and interval)
 * and times from the first record() to the moment all are in the database.
 * - by-size: the events arrive as fast as the writes take them: one flush size at a time, each
 *   batch written by the flush that record() starts when the buffer is full, before the next
 *   arrives. Every INSERT holds flushBatch events: the steady state of a busy service.
 * - backlog: all events recorded at once, then one flush(): what a pile-up (after a database
 *   pause, say) drains at. The events are built beforehand, outside the timing, in both.
 */
async function ingest(
  env: BenchEnvironment,
  tokenIds: string[],
  count: number,
  mode: 'by-size' | 'backlog',
  signal: AbortSignal,
): Promise<IngestionRun> {
  const usage = env.app.usage;
  const connection = env.orm.em.getConnection();
  const countEvents = async () =>
    Number(
      (
        await connection.execute<{ n: string | number }>(
          'select count(*) as n from usage_events where token_id in (?)',
          [tokenIds],
          'get',
        )
      ).n,
    );
  await usage.flush();
  const before = await countEvents();
  const drafts = buildDrafts(tokenIds, count);
  const batch = env.config.usage.flushBatch;

  let written = 0;
  let started = 0;
  const statements = await env.statements.during(async () => {
    started = performance.now();
    if (mode === 'backlog') {
      for (const draft of drafts) usage.record(draft);
    } else {
      for (let i = 0; i < drafts.length && !signal.aborted; i += batch) {
        for (const draft of drafts.slice(i, i + batch)) usage.record(draft);
        // The full buffer has started a flush; flush() resolves when it (and any before it) is done.
        await usage.flush();
      }
    }
    await usage.flush();
    written = performance.now() - started;
    // Whatever ran in the event loop meanwhile (the interval timer's flushes) is done too.
    await setImmediate();
  });
  if (signal.aborted) return { events: 0, seconds: 0, eventsPerSecond: 0, inserts: 0, eventsPerInsert: null };
  const stored = (await countEvents()) - before;
  if (stored !== count || usage.pending !== 0) {
    throw new Error(`${mode}: ${int(stored)} of ${int(count)} events in the database, ${usage.pending} still buffered`);
  }
  const inserts = statements.filter((sql) => /^\s*insert into usage_events/i.test(sql)).length;
  return {
    events: count,
    seconds: written / 1000,
    eventsPerSecond: count / (written / 1000),
    inserts,
    eventsPerInsert: inserts > 0 ? count / inserts : null,
  };
}

const ENDPOINTS = ['/api/users', '/api/orders', '/api/orders/:id', '/api/invoices', '/api/search', '/api/reports', '/api/files', '/api/health'];
const METHODS = ['GET', 'GET', 'POST', 'GET', 'DELETE'];
const REFUSALS = ['RATE_LIMITED', 'INSUFFICIENT_PERMISSIONS', 'IP_NOT_ALLOWED'];
const USER_AGENT = 'bench-resource-server/1.0 (+https://example.com) node/20';

/** Events like a resource server's traffic: mostly VALID, one in ten refused, a few endpoints. */
function buildDrafts(tokenIds: string[], count: number): UsageEventDraft[] {
  const now = new Date();
  return Array.from({ length: count }, (_, i) => {
    const outcome = i % 10 === 9 ? REFUSALS[Math.floor(i / 10) % REFUSALS.length]! : 'VALID';
    return {
      tokenId: tokenIds[i % tokenIds.length]!,
      occurredAt: now,
      endpoint: ENDPOINTS[i % ENDPOINTS.length]!,
      method: METHODS[i % METHODS.length]!,
      clientIp: `10.0.${(i >> 8) & 255}.${i & 255}`,
      userAgent: USER_AGENT,
      outcome,
      blocked: outcome !== 'VALID',
      blockReason: outcome === 'VALID' ? null : `refused: ${outcome.toLowerCase()}`,
      countsTowardUsage: outcome === 'VALID',
    };
  });
}

/** The figures must cover every seeded event: a query that read fewer rows would look faster. */
function checkStats(data: any, events: number): void {
  const usage = data.token?.usage;
  const dailyTotal = (usage?.daily ?? []).reduce((sum: number, day: any) => sum + day.totalRequests, 0);
  if (!usage || usage.totalRequests !== events || dailyTotal !== events || usage.daily.length !== STATS_DAYS) {
    throw new Error(`usage(days: ${STATS_DAYS}) does not cover the ${int(events)} seeded events: ${JSON.stringify(usage).slice(0, 500)}`);
  }
}

export function printUsageReport(result: UsageResult): void {
  const { ingestion, stats } = result;
  const ingestionRow = (label: string, run: IngestionRun) =>
    row(
      [label, int(run.eventsPerSecond), int(run.events), run.seconds.toFixed(2), run.eventsPerInsert === null ? '-' : int(run.inserts), run.eventsPerInsert === null ? '-' : int(run.eventsPerInsert)],
      28,
      12,
    );
  const lines = [
    '',
    'Keymint benchmark: usage events, written by the UsageRecorder and read by Token.usage(days: 30)',
    '',
    `database   ${result.database.description}${result.database.poolMax ? ` (pool of ${result.database.poolMax})` : ''}`,
    '',
    `Ingestion into usage_events (flush size ${int(ingestion.flushBatch)}; wall time from the first record() to all written)`,
    row(['mode', 'events/s', 'events', 'seconds', 'INSERTs', 'per INSERT'], 28, 12),
    ingestionRow(`by size (${int(ingestion.flushBatch)} per flush)`, ingestion.bySize),
    ingestionRow('backlog (record all, flush)', ingestion.backlog),
    '',
    `Token.usage(days: 30) over ${int(stats.events)} events of one token${stats.reducedForEmbedded ? ' (reduced from 1,000,000 on PGlite; BENCH_STATS_EVENTS sets it)' : ''}`,
    `  seeded in ${stats.seedSeconds.toFixed(1)} s (INSERT ... SELECT generate_series, then VACUUM ANALYZE); ${stats.statementsPerRequest} SQL statements per request`,
    row(['requests', 'p50 ms', 'p99 ms', 'min ms', 'mean ms', 'max ms'], 28, 12),
    row([`${stats.requests}, one at a time`, ms(stats.p50Ms), ms(stats.p99Ms), ms(stats.minMs), ms(stats.meanMs), ms(stats.maxMs)], 28, 12),
    '',
  ];
  console.log(lines.join('\n'));
}

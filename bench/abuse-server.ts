import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Worker } from 'node:worker_threads';
import { createApp, type App } from '../src/app.js';
import { migrate } from '../src/db/migrate.js';
import { createOrm } from '../src/db/orm.js';
import { createLogger } from '../src/logger.js';
import { abuseConfig, OWNER, RSS_SAMPLE_MS, type ServerMessage, type SuiteMessage } from './abuse-protocol.js';
import { seedAbuseAccount } from './abuse-seed.js';
import { openBenchDatabase } from './database.js';
import {
  closeServer,
  listen,
  resultHeader,
  SESSION_SECRET,
  signIn,
  StatementRecorder,
  type BenchEnvironment,
} from './environment.js';
import { HttpClient } from './http.js';
import { readSettings } from './settings.js';

/**
 * The App of the `abuse` suite, in a process of its own, started by bench/abuse.ts with fork():
 * the suite measures this process's CPU time and RSS, which must be the service's alone, not the
 * load generator's. It is the standard environment (bench/environment.ts: a fresh database, the
 * service's default configuration, so the default operation limits, logging off), with one
 * account seeded (bench/abuse-seed.ts).
 *
 * Over the IPC channel it sends `ready` (or `failed`) once seeded, answers `collect`, and waits
 * for `stop`; then it takes everything down (dropping a temporary database) and exits. It also stops when the
 * channel closes, should the suite die first. A Ctrl-C in the terminal reaches this process too:
 * it is ignored here, and the suite, which sees it as well, sends `stop` once it has stopped
 * sending.
 */

/**
 * The stats thread, plain JavaScript (a worker does not get tsx's loader). It has an event loop
 * of its own, so it samples on time and answers at once even while the App's thread is busy (on
 * PGlite, a long query runs on that thread). process.memoryUsage.rss() and process.cpuUsage()
 * are the whole process's, whichever thread asks; the thread itself costs a few MB and almost no
 * CPU, the same in every phase. The App thread's own V8 heap is only visible from that thread:
 * it posts its heapUsed on the same interval (late, or not at all, while that thread is busy).
 */
const STATS_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
let peak = 0;
let samples = 0;
let heapUsed = 0;
let peakHeapUsed = 0;
const sample = () => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) peak = rss;
  samples += 1;
  return rss;
};
setInterval(sample, workerData.sampleMs);
parentPort.on('message', (used) => {
  heapUsed = used;
  if (used > peakHeapUsed) peakHeapUsed = used;
});
const server = createServer((req, res) => {
  const rss = sample();
  const cpu = process.cpuUsage();
  const mark = { rss, peakRss: peak, samples, heapUsed, peakHeapUsed, cpuUserUs: cpu.user, cpuSystemUs: cpu.system };
  peak = rss;
  peakHeapUsed = heapUsed;
  samples = 0;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(mark));
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function startStatsThread(): Promise<{ port: number; worker: Worker; stop: () => Promise<void> }> {
  const worker = new Worker(STATS_THREAD, { eval: true, workerData: { sampleMs: RSS_SAMPLE_MS } });
  const [port] = (await once(worker, 'message')) as [number];
  const heap = setInterval(() => worker.postMessage(process.memoryUsage().heapUsed), RSS_SAMPLE_MS);
  const stop = async () => {
    clearInterval(heap);
    await worker.terminate();
  };
  return { port, worker, stop };
}

function send(message: ServerMessage): void {
  process.send!(message);
}

/**
 * Answers `collect` (a full garbage collection, for a settled RSS before each case: the process
 * runs with --expose-gc) with `collected`; resolves on `stop` from the suite, or when the IPC
 * channel closes.
 */
function serveRequests(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (message: SuiteMessage) => {
      if (message.type === 'collect') {
        // The first collection frees the garbage, the second returns its pages to the system:
        // after one alone, the RSS is where it was.
        globalThis.gc?.();
        globalThis.gc?.();
        send({ type: 'collected', rss: process.memoryUsage.rss() });
      } else if (message.type === 'stop') resolve();
    });
    process.once('disconnect', () => resolve());
  });
}

/**
 * bench/environment.ts's withEnvironment, except that statements are bounded by the service's
 * DATABASE_STATEMENT_TIMEOUT_MS (5 s), and the HTTP server's timeouts are src/server.ts's, as in
 * service (the other suites leave them out): an attack must meet every bound the service has.
 */
async function serve(work: (env: BenchEnvironment) => Promise<void>): Promise<void> {
  const settings = readSettings(process.env);
  const config = abuseConfig();
  const logger = createLogger(config);
  const database = await openBenchDatabase(settings.serverUrl, config.database.poolMax);
  const target = database.target.kind === 'server' ? { ...database.target, statementTimeoutMs: config.statementTimeoutMs } : database.target;
  console.log(`database: ${database.description}`);
  try {
    const orm = await createOrm(target);
    const client = new HttpClient(1);
    let app: App | undefined;
    let server: Server | undefined;
    try {
      await migrate(orm, target);
      app = createApp({ config, orm, logger, sessionSecret: SESSION_SECRET });
      server = createServer(app.handle);
      // As src/server.ts sets them.
      server.headersTimeout = 30_000;
      server.requestTimeout = 60_000;
      const port = await listen(server);
      await work({ config, logger, orm, database, app, port, client, statements: new StatementRecorder() });
    } finally {
      client.close();
      if (server) await closeServer(server);
      // Writes what the usage buffer still holds, before the ORM goes.
      await app?.close();
      await orm.close(true);
    }
  } finally {
    await database.drop();
  }
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/abuse-server.ts is started by the abuse suite (bench/abuse.ts), with an IPC channel');
  process.on('SIGINT', () => {});
  const stop = serveRequests();
  const stats = await startStatsThread();
  try {
    await serve(async (env) => {
      const { jwt, userId } = await signIn(env, OWNER);
      const seed = await seedAbuseAccount(env.orm, {
        ownerId: userId,
        tokenPrefix: env.config.tokens.prefix,
        database: env.database.target.kind,
      });
      send({
        type: 'ready',
        pid: process.pid,
        port: env.port,
        statsPort: stats.port,
        jwt,
        seed,
        database: resultHeader(env.database).database,
      });
      await stop;
    });
  } finally {
    await stats.stop();
  }
}

function disconnect(): void {
  if (process.connected) process.disconnect();
}

main().then(disconnect, (error: unknown) => {
  console.error(error);
  if (process.connected) send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  disconnect();
});

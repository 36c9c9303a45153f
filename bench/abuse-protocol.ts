import { loadConfig, type Config } from '../src/config.js';
import type { AbuseSeed } from './abuse-seed.js';
import { SESSION_SECRET } from './environment.js';
import type { RunInfo } from './report.js';

/** What the `abuse` suite (bench/abuse.ts) and the App's process it starts (bench/abuse-server.ts) share. */

/** The service's default configuration, so its default operation limits; logging off. */
export function abuseConfig(): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_JWT_SECRET: SESSION_SECRET });
}

export const OWNER = { subject: 'bench|abuser', email: 'abuser@bench.example', permissions: ['tools.*'] };
/** How often the App process's stats thread samples its RSS. */
export const RSS_SAMPLE_MS = 100;

/** From the App process: once its database is seeded (or it failed), and after each `collect`. */
export type ServerMessage = ServerReady | { type: 'failed'; message: string } | { type: 'collected'; rss: number };

/** From the suite: a full garbage collection, or the end. */
export type SuiteMessage = { type: 'collect' } | { type: 'stop' };

export interface ServerReady {
  type: 'ready';
  pid: number;
  /** Where the App listens, on 127.0.0.1. */
  port: number;
  /** Where the stats thread answers GET /mark, on 127.0.0.1. */
  statsPort: number;
  /** The owner's session JWT. */
  jwt: string;
  seed: AbuseSeed;
  database: RunInfo['database'];
}

/** What GET /mark answers: the process's figures now, and the peak RSS since the previous mark. */
export interface StatsMark {
  rss: number;
  peakRss: number;
  /** RSS samples taken since the previous mark. */
  samples: number;
  /** The App thread's V8 heap in use, as it last reported it, and its peak since the previous mark. */
  heapUsed: number;
  peakHeapUsed: number;
  /** process.cpuUsage() of the whole process, all threads, in microseconds. */
  cpuUserUs: number;
  cpuSystemUs: number;
}

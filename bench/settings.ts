/** What a run measures and for how long: environment variables, read once, checked. */
export interface Settings {
  /** A PostgreSQL server to create the temporary database on; none: embedded PGlite. */
  serverUrl: string | undefined;
  /** Measured seconds per HTTP call (each query of `list`, each endpoint and case of `verify`). */
  seconds: number;
  concurrency: number;
  warmupSeconds: number;
  /** Measured seconds of verifier calls per case in the in-process comparison. */
  inProcessSeconds: number;
  /** Events recorded through the UsageRecorder for the ingestion figure. */
  usageEvents: number;
  /** Events seeded for the usage(days: 30) query; undefined: the suite's default for the database. */
  statsEvents: number | undefined;
  /** Measured usage(days: 30) requests. */
  statsRequests: number;
  /** Revocations measured by the propagation suite, one at a time (and as many again in the burst). */
  revocations: number;
}

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    serverUrl: env.BENCH_DATABASE_URL || env.DATABASE_URL || undefined,
    seconds: positiveNumber(env, 'BENCH_SECONDS', 5),
    concurrency: Math.round(positiveNumber(env, 'BENCH_CONCURRENCY', 16)),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP_SECONDS', 1),
    inProcessSeconds: positiveNumber(env, 'BENCH_INPROCESS_SECONDS', 1),
    usageEvents: Math.round(positiveNumber(env, 'BENCH_USAGE_EVENTS', 200_000)),
    statsEvents: env.BENCH_STATS_EVENTS ? Math.round(positiveNumber(env, 'BENCH_STATS_EVENTS', 0)) : undefined,
    statsRequests: Math.round(positiveNumber(env, 'BENCH_STATS_REQUESTS', 20)),
    revocations: Math.round(positiveNumber(env, 'BENCH_REVOCATIONS', 1_000)),
  };
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

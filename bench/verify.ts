import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import { generateSecret, hashSecret } from '../src/modules/token/token.secret.js';
import type { VerificationRequest } from '../src/modules/verification/verification.js';
import { startBareServer } from './bare-server.js';
import { Interrupted, mintToken, revokeToken, signIn, resultHeader, type BenchEnvironment } from './environment.js';
import { expectAccepted, jsonCall, type HttpCall } from './http.js';
import { compareThroughput, type LoadStats } from './load.js';
import { int, LOAD_HEADER, loadCells, ratio, row, type RunInfo } from './report.js';
import type { Settings } from './settings.js';

/**
 * The `verify` suite: POST /v1/verify over HTTP for a valid (cached) token, a revoked one and a
 * malformed string, each beside a bare node:http endpoint answering the same bytes; then the
 * verifier called in-process beside a raw SHA-256 + Map lookup loop. The ratios are the figures.
 */

/** Requests are sub-millisecond: one-second rounds interleave the six calls finely. */
const ROUND_SECONDS = 1;
/** The in-process warm-up (JIT, caches), as a share of the measured time. */
const WARMUP_SHARE = 0.25;
const CALLER = { subject: 'bench|resource-server', email: 'rs@bench.example', permissions: ['tokens.verify', 'tools.*'] };
const REQUEST: VerificationRequest = { requiredPermissions: ['tools.read'], endpoint: '/api/x', method: 'GET' };

const CASES = [
  { name: 'valid', outcome: 'VALID' },
  { name: 'revoked', outcome: 'REVOKED' },
  { name: 'malformed', outcome: 'MALFORMED' },
] as const;
type CaseName = (typeof CASES)[number]['name'];

export interface HttpCase {
  outcome: string;
  /** Size of Keymint's JSON answer, which the bare endpoint sends too. */
  answerBytes: number;
  keymint: LoadStats;
  bare: LoadStats;
  /** keymint req/s divided by bare req/s. */
  ratio: number;
}

export interface InProcessCase {
  outcome: string;
  iterations: number;
  rounds: number;
  verifier: { seconds: number; opsPerSecond: number };
  raw: { seconds: number; opsPerSecond: number };
  /** verifier ops/s divided by raw ops/s. */
  ratio: number;
  /** Usage events the timed calls put in the buffer, written between rounds (untimed). */
  eventsRecorded: number;
  flushSeconds: number;
}

export interface VerifyResult extends RunInfo {
  load: { concurrency: number; secondsPerCall: number; rounds: number; warmupSeconds: number };
  http: Record<CaseName, HttpCase>;
  inProcess: { callsPerRound: number; cases: Record<CaseName, InProcessCase> };
}

export async function runVerifyBench(env: BenchEnvironment, settings: Settings, signal: AbortSignal): Promise<VerifyResult> {
  const { database, client, port } = env;
  const { jwt } = await signIn(env, CALLER);
  // The resource server calls with an API token that names tokens.verify in its own list.
  const caller = await mintToken(env, jwt, { name: 'bench resource server', permissions: ['tokens.verify'] });
  const valid = await mintToken(env, jwt, { name: 'bench valid' });
  const revoked = await mintToken(env, jwt, { name: 'bench revoked' });
  await revokeToken(env, jwt, revoked.id);
  const secrets: Record<CaseName, string> = {
    valid: valid.secret,
    revoked: revoked.secret,
    // The dearest way to be malformed: the right prefix, length and alphabet, a wrong checksum.
    malformed: withWrongChecksum(generateSecret(env.config.tokens.prefix).secret),
  };

  const verifyCall = (name: CaseName, outcome: string, target: { port: number; path: string }): HttpCall =>
    jsonCall({
      label: `POST ${target.path} (${name})`,
      port: target.port,
      path: target.path,
      payload: { token: secrets[name], ...REQUEST },
      bearer: caller.secret,
      accepts: (status, body) => status === 200 && body.includes(`"outcome":"${outcome}"`),
    });

  // Each answer must be what the case claims to measure; the bare endpoint then sends its bytes.
  const answers: Record<string, string> = {};
  for (const { name, outcome } of CASES) {
    const answer = await expectAccepted(client, verifyCall(name, outcome, { port, path: '/v1/verify' }));
    const parsed = JSON.parse(answer.body);
    if (parsed.valid !== (outcome === 'VALID')) throw new Error(`/v1/verify (${name}) answered ${answer.body}`);
    answers[`/bare/${name}`] = answer.body;
  }

  const bare = await startBareServer(answers);
  let http: { rounds: number; stats: Record<string, LoadStats> };
  try {
    const calls: Array<[string, HttpCall]> = CASES.flatMap(({ name, outcome }): Array<[string, HttpCall]> => [
      [`keymint ${name}`, verifyCall(name, outcome, { port, path: '/v1/verify' })],
      [`bare ${name}`, verifyCall(name, outcome, { port: bare.port, path: `/bare/${name}` })],
    ]);
    for (const [, call] of calls) await expectAccepted(client, call);
    console.log('measuring POST /v1/verify and the bare endpoint…');
    http = await compareThroughput(client, calls, {
      concurrency: settings.concurrency,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      roundSeconds: ROUND_SECONDS,
      signal,
    });
  } finally {
    await bare.close();
  }
  if (signal.aborted) throw new Interrupted();

  console.log('measuring the verifier in-process…');
  const digests = new Map(Object.values(secrets).map((secret) => [hashSecret(secret), { secret }]));
  const inProcess = {} as Record<CaseName, InProcessCase>;
  for (const { name, outcome } of CASES) {
    inProcess[name] = await compareInProcess(env, { secret: secrets[name], outcome, digests }, settings, signal);
  }
  if (signal.aborted) throw new Interrupted();

  return {
    ...resultHeader(database),
    load: { concurrency: settings.concurrency, secondsPerCall: settings.seconds, rounds: http.rounds, warmupSeconds: settings.warmupSeconds },
    http: Object.fromEntries(
      CASES.map(({ name, outcome }) => {
        const keymint = http.stats[`keymint ${name}`]!;
        const floor = http.stats[`bare ${name}`]!;
        const answerBytes = Buffer.byteLength(answers[`/bare/${name}`]!);
        return [name, { outcome, answerBytes, keymint, bare: floor, ratio: keymint.requestsPerSecond / floor.requestsPerSecond }];
      }),
    ) as Record<CaseName, HttpCase>,
    inProcess: { callsPerRound: callsPerRound(env), cases: inProcess },
  };
}

/**
 * Fewer calls per round than the usage buffer's flush size: the buffer is empty when a round
 * starts, so no flush can start inside a timed round (a cached verification never waits for I/O,
 * so neither can the interval timer's).
 */
function callsPerRound(env: BenchEnvironment): number {
  return Math.max(1, env.config.usage.flushBatch - 1);
}

/**
 * `app.verifier.verify()` in a loop, one call awaited after another, against the floor of any
 * verification by digest: SHA-256 of the secret and a Map lookup, the same number of times, in
 * alternating rounds. A VALID or refused verification records a usage event in memory (the
 * UsageRecorder's buffer); that is part of the call and is timed. Writing the events to the
 * database is not: it happens off the request path, and between rounds here, where the buffer
 * is flushed (untimed) and checked to hold exactly the round's events, proof that no flush ran
 * inside the round. The usage suite measures the writing.
 */
async function compareInProcess(
  env: BenchEnvironment,
  target: { secret: string; outcome: string; digests: Map<string, object> },
  settings: Settings,
  signal: AbortSignal,
): Promise<InProcessCase> {
  const { verifier, usage } = env.app;
  const { secret, outcome, digests } = target;
  const calls = callsPerRound(env);

  // How many events one call records (0 for MALFORMED, 1 otherwise).
  await usage.flush();
  const first = await verifier.verify(secret, REQUEST);
  if (first.outcome !== outcome) throw new Error(`verify() gave ${first.outcome}, expected ${outcome}`);
  const eventsPerCall = usage.pending;

  let sink = 0;
  const verifierRound = async (): Promise<number> => {
    const started = performance.now();
    let last = first;
    for (let i = 0; i < calls; i += 1) last = await verifier.verify(secret, REQUEST);
    const elapsed = performance.now() - started;
    if (last.outcome !== outcome) throw new Error(`verify() gave ${last.outcome} during the loop, expected ${outcome}`);
    return elapsed;
  };
  const rawRound = (): number => {
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) {
      if (digests.get(createHash('sha256').update(secret).digest('hex')) !== undefined) sink += 1;
    }
    return performance.now() - started;
  };

  const totals = { rounds: 0, verifierMs: 0, rawMs: 0, flushMs: 0, events: 0 };
  const warmupMs = settings.inProcessSeconds * 1000 * WARMUP_SHARE;
  let warmedMs = 0;
  while (totals.verifierMs < settings.inProcessSeconds * 1000 && !signal.aborted) {
    // Untimed: renew the cache entry (its TTL must not run out inside a round), empty the buffer.
    await verifier.verify(secret, REQUEST);
    const flushStarted = performance.now();
    await usage.flush();
    totals.flushMs += performance.now() - flushStarted;
    // A flush the interval timer queued meanwhile runs (on an empty buffer) before this resolves.
    await setImmediate();
    if (usage.pending !== 0) throw new Error(`the usage buffer still holds ${usage.pending} events after a flush`);

    let verifierMs: number;
    let rawMs: number;
    if (totals.rounds % 2 === 0) {
      verifierMs = await verifierRound();
      rawMs = rawRound();
    } else {
      rawMs = rawRound();
      verifierMs = await verifierRound();
    }
    if (usage.pending !== eventsPerCall * calls) {
      throw new Error(`the usage buffer holds ${usage.pending} events, expected ${eventsPerCall * calls}: a flush ran in a timed round`);
    }
    if (warmedMs < warmupMs) {
      warmedMs += verifierMs;
      continue;
    }
    totals.rounds += 1;
    totals.verifierMs += verifierMs;
    totals.rawMs += rawMs;
    totals.events += usage.pending;
  }
  const flushStarted = performance.now();
  await usage.flush();
  totals.flushMs += performance.now() - flushStarted;
  if (sink === 0 && digests.has(hashSecret(secret))) throw new Error('the raw loop found nothing');

  const iterations = totals.rounds * calls;
  const verifierOps = iterations / (totals.verifierMs / 1000);
  const rawOps = iterations / (totals.rawMs / 1000);
  return {
    outcome,
    iterations,
    rounds: totals.rounds,
    verifier: { seconds: totals.verifierMs / 1000, opsPerSecond: verifierOps },
    raw: { seconds: totals.rawMs / 1000, opsPerSecond: rawOps },
    ratio: verifierOps / rawOps,
    eventsRecorded: totals.events,
    flushSeconds: totals.flushMs / 1000,
  };
}

/** The same secret with its last checksum character changed, so that the checksum no longer matches. */
function withWrongChecksum(secret: string): string {
  return secret.slice(0, -1) + (secret.endsWith('0') ? '1' : '0');
}

export function printVerifyReport(result: VerifyResult): void {
  const { load, http, inProcess } = result;
  const cases = CASES.map(({ name }) => name);
  const lines = [
    '',
    'Keymint benchmark: POST /v1/verify vs. a bare node:http endpoint, and the verifier in-process',
    '',
    `database   ${result.database.description}${result.database.poolMax ? ` (pool of ${result.database.poolMax})` : ''}`,
    `caller     an API token listing tokens.verify (cached); body {token, requiredPermissions: ["tools.read"], endpoint: "/api/x", method: "GET"}`,
    `load       ${load.concurrency} concurrent keep-alive callers, ${load.secondsPerCall} s per endpoint and case in ${load.rounds} interleaved rounds, after ${load.warmupSeconds} s warm-up each`,
    `bare       node:http in this process (same event loop as Keymint and the load generator), reads the body, answers Keymint's bytes`,
    `usage      each request records the caller token's own use, and the target's (valid, revoked): the buffer flushes during the load`,
    '',
    'Over HTTP',
    row(['case', 'endpoint', ...LOAD_HEADER, 'answer B'], 12),
    ...cases.flatMap((name) => [
      row([name, 'keymint', ...loadCells(http[name].keymint), String(http[name].answerBytes)], 12),
      row(['', 'bare', ...loadCells(http[name].bare), String(http[name].answerBytes)], 12),
    ]),
    '',
    `ratio keymint/bare req/s (target >= 0.5)   ${cases.map((name) => `${name} ${ratio(http[name].ratio)}`).join('   ')}`,
    '',
    `In-process: app.verifier.verify() awaited in a loop vs. sha256(secret) + Map.get, ${int(inProcess.callsPerRound)} calls per round, alternating`,
    row(['case', 'verify/s', 'raw/s', 'ratio', 'calls', 'events', 'flush s'], 12, 12),
    ...cases.map((name) => {
      const c = inProcess.cases[name];
      return row(
        [name, int(c.verifier.opsPerSecond), int(c.raw.opsPerSecond), ratio(c.ratio), int(c.iterations), int(c.eventsRecorded), c.flushSeconds.toFixed(1)],
        12,
        12,
      );
    }),
    '',
    `ratio verify/raw for a valid token (target >= 0.5)   ${ratio(inProcess.cases.valid.ratio)}`,
    '  events: usage events the timed calls recorded in memory (timed); flush s: writing them between rounds (untimed)',
    '',
  ];
  console.log(lines.join('\n'));
}

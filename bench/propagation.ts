import { performance } from 'node:perf_hooks';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { createApp, type App } from '../src/app.js';
import { encodeGlobalId } from '../src/global-id.js';
import { Interrupted, SESSION_SECRET, signIn, withEnvironment, resultHeader, type BenchEnvironment } from './environment.js';
import { percentile } from './load.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';
import { int, ms, row, truncate, type RunInfo } from './report.js';
import { seedVerifiableTokens, type VerifiableToken } from './seed.js';
import type { Settings } from './settings.js';

/**
 * The `propagation` suite: how long after `revokeToken` returns on instance A instance B answers
 * REVOKED for a token it had cached. Two Apps in this process over one database and a private
 * redis-server, as two processes behind a load balancer would be: separate caches, separate
 * Redis connections, A publishing the token event and B subscribed to it.
 */

const OWNER = { subject: 'bench|revoker', email: 'revoker@bench.example', permissions: ['tools.*'] };
/** Unmeasured revocations first: JIT, connection pools, and proof that events reach B at all. */
const WARMUP_REVOCATIONS = 20;
export const TARGET_P99_MS = 100;
const READY_TIMEOUT_MS = 10_000;
/** Past B's cache TTL plus this, B has not heard of a revocation: the run stops. */
const POLL_SLACK_MS = 1_000;
const STATEMENT_WIDTH = 110;

const REVOKE = `mutation Revoke($input: RevokeTokenInput!) {
  revokeToken(input: $input) { __typename ... on RevokeTokenPayload { token { status } } ... on Error { message } }
}`;

export interface Distribution {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  minMs: number;
  meanMs: number;
}

export interface PropagationRun {
  /** Revocations in flight at once: 1 for the measurement the target is about. */
  concurrency: number;
  revocations: number;
  seconds: number;
  /** From A's revokeToken response received to B's first REVOKED: the issue's figure. */
  fromResponse: Distribution;
  /** From A's revokeToken request sent to B's first REVOKED. */
  fromRequest: Distribution;
  /** From A's revokeToken request sent to the token event arriving on B (its cache entry dropped). */
  eventFromRequest: Distribution;
  /** A's revokeToken alone: request sent to response received. */
  revokeRequest: Distribution;
  /** Revocations that B already answered REVOKED at the first poll after the response. */
  revokedAtFirstPoll: number;
  /** B.verifier.verify() calls per revocation, the REVOKED one included. */
  polls: { mean: number; max: number };
  /** fromResponse of each revocation, in the order they were made (ms). */
  samplesMs: number[];
}

export interface PropagationResult extends RunInfo {
  redis: string;
  /** B's VERIFY_CACHE_TTL_MS: how long B could answer VALID if no event reached it. */
  cacheTtlMs: number;
  targetP99Ms: number;
  warmupRevocations: number;
  /** SQL of one unmeasured revocation, after the warm-up. */
  statements: { revokeOnA: string[]; untilRevokedOnB: string[] };
  sequential: PropagationRun;
  burst: PropagationRun;
  /** sequential.fromResponse.p99Ms < targetP99Ms */
  meetsTarget: boolean;
}

interface Sample {
  fromResponseMs: number;
  fromRequestMs: number;
  eventFromRequestMs: number;
  revokeMs: number;
  polls: number;
}

/** Starts the private Redis, then the environment (App A) with REDIS_URL set to it, and measures. */
export async function runPropagationBench(settings: Settings, signal: AbortSignal): Promise<PropagationResult> {
  const redis = await startPrivateRedis();
  try {
    console.log(`redis: ${redis.description}`);
    return await withEnvironment(settings, (env) => measure(env, redis, settings, signal), { REDIS_URL: redis.url });
  } finally {
    await redis.stop();
  }
}

async function measure(env: BenchEnvironment, redis: PrivateRedis, settings: Settings, signal: AbortSignal): Promise<PropagationResult> {
  const { config, orm, database } = env;
  const a = env.app;
  // B: a second instance over the same database and Redis, with its own cache and connections.
  const b = createApp({ config, orm, logger: env.logger, sessionSecret: SESSION_SECRET });
  // When each token's REVOKED event reached B (after B's own listener has dropped it from the cache).
  const eventsOnB = new Map<string, number>();
  const unsubscribe = b.bus.subscribe((event) => {
    if (event.type === 'REVOKED') eventsOnB.set(event.tokenId, performance.now());
  });
  try {
    await untilRedisUp([a, b]);
    // The first request creates the owner's user row; the tokens belong to it.
    const { jwt, userId } = await signIn(env, OWNER);
    // The warm-up, one more whose SQL is recorded, then the measured ones, one at a time and in a burst.
    const total = WARMUP_REVOCATIONS + 1 + 2 * settings.revocations;
    console.log(`seeding ${int(total)} tokens and verifying each on B…`);
    const tokens = await seedVerifiableTokens(orm, {
      ownerId: userId,
      tokenPrefix: config.tokens.prefix,
      tokens: total,
      batchSize: 1_000,
      namePrefix: 'propagation',
    });
    // Warm B's cache; each measured revocation renews its token's entry again just before.
    for (const token of tokens) await expectOutcome(b, token, 'VALID', 'before any revocation');

    const probe: Probe = { a, b, jwt, eventsOnB, pollLimitMs: config.verification.cacheTtlMs + POLL_SLACK_MS, signal };
    const warmup = tokens.slice(0, WARMUP_REVOCATIONS);
    const recorded = tokens[WARMUP_REVOCATIONS]!;
    const sequentialTokens = tokens.slice(WARMUP_REVOCATIONS + 1, WARMUP_REVOCATIONS + 1 + settings.revocations);
    const burstTokens = tokens.slice(WARMUP_REVOCATIONS + 1 + settings.revocations);

    await revokeAll(probe, warmup, 1);
    const statements = await statementsOfOneRevocation(env, probe, recorded);
    console.log(`measuring ${int(settings.revocations)} revocations, one at a time…`);
    const sequential = await revokeAll(probe, sequentialTokens, 1);
    console.log(`measuring ${int(settings.revocations)} revocations, ${settings.concurrency} in flight…`);
    const burst = await revokeAll(probe, burstTokens, settings.concurrency);

    return {
      ...resultHeader(database),
      redis: redis.description,
      cacheTtlMs: config.verification.cacheTtlMs,
      targetP99Ms: TARGET_P99_MS,
      warmupRevocations: WARMUP_REVOCATIONS,
      statements,
      sequential,
      burst,
      meetsTarget: sequential.fromResponse.p99Ms < TARGET_P99_MS,
    };
  } finally {
    unsubscribe();
    // Writes B's buffered usage events while the ORM is still open.
    await b.close();
  }
}

/** Both instances' /readyz, as a load balancer would ask it, must say that Redis is up. */
async function untilRedisUp(apps: App[]): Promise<void> {
  const started = performance.now();
  for (;;) {
    const states = await Promise.all(
      apps.map(async (app) => ((await (await app.yoga.fetch('http://keymint.bench/readyz')).json()) as { redis: string }).redis),
    );
    if (states.every((state) => state === 'up')) return;
    if (performance.now() - started > READY_TIMEOUT_MS) throw new Error(`Redis not up on both instances after ${READY_TIMEOUT_MS} ms: ${states.join(', ')}`);
    await sleep(20);
  }
}

interface Probe {
  a: App;
  b: App;
  jwt: string;
  eventsOnB: Map<string, number>;
  pollLimitMs: number;
  signal: AbortSignal;
}

/** Revokes the tokens with `concurrency` callers, each taking the next token when its last is REVOKED on B. */
async function revokeAll(probe: Probe, tokens: VerifiableToken[], concurrency: number): Promise<PropagationRun> {
  const samples: Sample[] = new Array(tokens.length);
  let next = 0;
  let failed = false;
  const started = performance.now();
  const caller = async () => {
    while (next < tokens.length && !failed && !probe.signal.aborted) {
      const index = next;
      next += 1;
      try {
        samples[index] = await revokeAndWatch(probe, tokens[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  // Every caller has stopped before this returns or throws, so none is left running into the clean-up.
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, tokens.length) }, caller));
  if (probe.signal.aborted) throw new Interrupted();
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  const seconds = (performance.now() - started) / 1000;
  const polls = samples.map((sample) => sample.polls);
  return {
    concurrency,
    revocations: samples.length,
    seconds,
    fromResponse: distribution(samples.map((sample) => sample.fromResponseMs)),
    fromRequest: distribution(samples.map((sample) => sample.fromRequestMs)),
    eventFromRequest: distribution(samples.map((sample) => sample.eventFromRequestMs)),
    revokeRequest: distribution(samples.map((sample) => sample.revokeMs)),
    revokedAtFirstPoll: polls.filter((count) => count === 1).length,
    polls: { mean: polls.reduce((sum, count) => sum + count, 0) / polls.length, max: Math.max(...polls) },
    samplesMs: samples.map((sample) => Math.round(sample.fromResponseMs * 1000) / 1000),
  };
}

/**
 * One measurement. B's cache entry is renewed first, so B can only learn of the revocation from
 * the event, not from an expired entry. t0 is when A's revokeToken response has been received;
 * from then B.verifier.verify() is called in a loop, yielding to the event loop between calls
 * (so Redis's message can be read), until it answers REVOKED: that is t1.
 */
async function revokeAndWatch(probe: Probe, token: VerifiableToken): Promise<Sample> {
  await expectOutcome(probe.b, token, 'VALID', 'just before its revocation');
  const sent = performance.now();
  await revokeOnA(probe, token);
  const returned = performance.now();
  const { revokedOnB, polls } = await untilRevokedOnB(probe, token, returned);

  const eventAt = probe.eventsOnB.get(token.id);
  probe.eventsOnB.delete(token.id);
  // B drops its entry only when the event arrives (its entry was fresh): REVOKED without the event would be a bug.
  if (eventAt === undefined) throw new Error(`B answered REVOKED for ${token.id} without the token event: the measurement is not of propagation`);
  return {
    fromResponseMs: revokedOnB - returned,
    fromRequestMs: revokedOnB - sent,
    eventFromRequestMs: eventAt - sent,
    revokeMs: returned - sent,
    polls,
  };
}

/** The revokeToken mutation on A, as the token's owner; resolves once the whole response has been received. */
async function revokeOnA(probe: Probe, token: VerifiableToken): Promise<void> {
  const response = await probe.a.yoga.fetch('http://keymint.bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${probe.jwt}` },
    body: JSON.stringify({ query: REVOKE, variables: { input: { id: encodeGlobalId('Token', token.id), reason: 'benchmark' } } }),
  });
  const body = await response.text();
  if (response.status !== 200 || JSON.parse(body).data?.revokeToken?.token?.status !== 'REVOKED') {
    throw new Error(`revokeToken on A failed (${response.status}): ${body.slice(0, 500)}`);
  }
}

/** Verifies on B until it answers REVOKED: when it did, and after how many calls. */
async function untilRevokedOnB(probe: Probe, token: VerifiableToken, since: number): Promise<{ revokedOnB: number; polls: number }> {
  let polls = 0;
  for (;;) {
    polls += 1;
    const { outcome } = await probe.b.verifier.verify(token.secret);
    if (outcome === 'REVOKED') return { revokedOnB: performance.now(), polls };
    if (outcome !== 'VALID') throw new Error(`B answered ${outcome} for a token being revoked`);
    // A Ctrl-C reaches the private redis-server too, which may take this revocation's event with it.
    if (probe.signal.aborted) throw new Interrupted();
    if (performance.now() - since > probe.pollLimitMs) {
      throw new Error(`B still answered VALID ${probe.pollLimitMs} ms after revokeToken returned on A: no event reached it`);
    }
    await setImmediate();
  }
}

/** The SQL of one (unmeasured) revocation: A's revokeToken, then B's verifications until REVOKED. */
async function statementsOfOneRevocation(env: BenchEnvironment, probe: Probe, token: VerifiableToken): Promise<PropagationResult['statements']> {
  await expectOutcome(probe.b, token, 'VALID', 'just before its revocation');
  // Empty usage buffers: no flush by size, and an interval flush would have nothing to write.
  await probe.a.usage.flush();
  await probe.b.usage.flush();
  const revokeOnAStatements = await env.statements.during(() => revokeOnA(probe, token));
  const untilRevokedOnBStatements = await env.statements.during(() => untilRevokedOnB(probe, token, performance.now()));
  probe.eventsOnB.delete(token.id);
  return { revokeOnA: revokeOnAStatements, untilRevokedOnB: untilRevokedOnBStatements };
}

async function expectOutcome(app: App, token: VerifiableToken, outcome: string, when: string): Promise<void> {
  const verification = await app.verifier.verify(token.secret);
  if (verification.outcome !== outcome) throw new Error(`B answered ${verification.outcome} for ${token.id} ${when}, expected ${outcome}`);
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((x, y) => x - y);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    minMs: sorted[0] ?? Number.NaN,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

function statementLines(label: string, statements: string[]): string[] {
  return [
    `  ${label.padEnd(32)} ${statements.length}`,
    ...statements.map((sql, i) => `      ${i + 1}. ${truncate(sql.replace(/\s+/g, ' ').trim(), STATEMENT_WIDTH)}`),
  ];
}

export function printPropagationReport(result: PropagationResult): void {
  const header = row(['', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms'], 40, 10);
  const line = (label: string, d: Distribution) =>
    row([label, int(d.count), ms(d.p50Ms), ms(d.p90Ms), ms(d.p99Ms), ms(d.maxMs), ms(d.meanMs)], 40, 10);
  const runLines = (title: string, run: PropagationRun) => [
    `${title}: ${int(run.revocations)} revocations in ${run.seconds.toFixed(1)} s`,
    header,
    line('revokeToken returned -> REVOKED on B', run.fromResponse),
    line('revokeToken sent -> REVOKED on B', run.fromRequest),
    line('revokeToken sent -> event on B', run.eventFromRequest),
    line('revokeToken on A (sent -> returned)', run.revokeRequest),
    `  B already answered REVOKED at its first poll after the response: ${int(run.revokedAtFirstPoll)} of ${int(run.revocations)}; polls per revocation: mean ${run.polls.mean.toFixed(1)}, max ${int(run.polls.max)}`,
  ];
  const { sequential } = result;
  const lines = [
    '',
    'Keymint benchmark: revocation propagation, revokeToken on instance A to REVOKED on instance B',
    '',
    `database   ${result.database.description}${result.database.poolMax ? ` (pool of ${result.database.poolMax})` : ''}`,
    `redis      ${result.redis}`,
    `instances  A and B: two Apps in this process, one database, one Redis; A revokes (GraphQL revokeToken, yoga.fetch), B verifies in-process`,
    `B's cache  TTL ${int(result.cacheTtlMs)} ms, renewed for each token just before it is revoked (without Redis, B could answer VALID that long)`,
    `warm-up    ${result.warmupRevocations} revocations, not measured`,
    '',
    'SQL statements of one revocation (unmeasured)',
    ...statementLines("revokeToken on A", result.statements.revokeOnA),
    ...statementLines("B's verifications until REVOKED", result.statements.untilRevokedOnB),
    '',
    ...runLines('One at a time', sequential),
    '',
    ...runLines(`Burst, ${result.burst.concurrency} in flight`, result.burst),
    '',
    `p99 revokeToken returned -> REVOKED on B, one at a time: ${ms(sequential.fromResponse.p99Ms)} ms (target < ${result.targetP99Ms} ms): ${result.meetsTarget ? 'met' : 'NOT MET'}`,
    '',
  ];
  console.log(lines.join('\n'));
}

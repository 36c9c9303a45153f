import { performance } from 'node:perf_hooks';
import type { HttpCall, HttpClient } from './http.js';

/**
 * A closed-loop HTTP load generator: `concurrency` callers, each sending its next request as soon
 * as the previous answer has arrived, over keep-alive connections. It runs in the server's own
 * process, so its CPU is counted against the server's: that is why it stays this small (no
 * parsing of response bodies, no per-request allocations beyond the response).
 */

interface RoundResult {
  failed: number;
  elapsedMs: number;
  latenciesMs: number[];
}

export interface LoadStats {
  requests: number;
  failed: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Keeps `concurrency` requests in flight for `seconds`; a request is failed unless the call accepts its answer. */
async function runRound(
  client: HttpClient,
  call: HttpCall,
  concurrency: number,
  seconds: number,
  signal: AbortSignal,
): Promise<RoundResult> {
  const latenciesMs: number[] = [];
  let failed = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;

  const caller = async () => {
    while (performance.now() < deadline && !signal.aborted) {
      const sent = performance.now();
      try {
        const { status, body } = await client.send(call);
        if (call.accepts(status, body)) latenciesMs.push(performance.now() - sent);
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  // Requests in flight at the deadline are awaited and counted, and so is the time they take.
  return { failed, elapsedMs: performance.now() - started, latenciesMs };
}

/** Pools the rounds of one call: throughput over their summed time, latency over all requests. */
function summarise(rounds: RoundResult[]): LoadStats {
  const latencies = rounds.flatMap((round) => round.latenciesMs).sort((a, b) => a - b);
  const requests = latencies.length;
  const seconds = rounds.reduce((sum, round) => sum + round.elapsedMs, 0) / 1000;
  return {
    requests,
    failed: rounds.reduce((sum, round) => sum + round.failed, 0),
    seconds,
    requestsPerSecond: seconds > 0 ? requests / seconds : 0,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface ComparisonOptions {
  concurrency: number;
  /** Measured seconds per call, after its warm-up. */
  seconds: number;
  warmupSeconds: number;
  /** Each call's time is split into rounds of about this many seconds. */
  roundSeconds: number;
  signal: AbortSignal;
}

/**
 * Measures calls in interleaved rounds (a b c, c b a, a b c, ...) rather than one after the
 * other: whatever the shared machine is doing meanwhile then weighs on all of them alike, which
 * is what makes their ratios worth more than any figure alone. Calls to be compared with each
 * other should sit next to each other in the list.
 */
export async function compareThroughput<Name extends string>(
  client: HttpClient,
  calls: Array<[Name, HttpCall]>,
  options: ComparisonOptions,
): Promise<{ rounds: number; stats: Record<Name, LoadStats> }> {
  const { concurrency, signal } = options;
  for (const [, call] of calls) await runRound(client, call, concurrency, options.warmupSeconds, signal);

  // Rounds much shorter than a slow request would be mostly ramp-up and drain.
  const rounds = Math.max(1, Math.round(options.seconds / options.roundSeconds));
  const results = new Map<Name, RoundResult[]>(calls.map(([name]) => [name, []]));
  const reversed = [...calls].reverse();
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, call] of round % 2 === 0 ? calls : reversed) {
      results.get(name)!.push(await runRound(client, call, concurrency, options.seconds / rounds, signal));
    }
  }
  const stats = Object.fromEntries([...results].map(([name, rs]) => [name, summarise(rs)])) as Record<Name, LoadStats>;
  return { rounds, stats };
}

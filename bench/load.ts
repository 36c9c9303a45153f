import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * A closed-loop HTTP load generator: `concurrency` callers, each sending its next request as soon
 * as the previous answer has arrived, over keep-alive connections. It runs in the server's own
 * process, so its CPU is counted against the server's: that is why it stays this small (no
 * parsing of response bodies, no per-request allocations beyond the response).
 */

export interface GraphQLCall {
  query: string;
  /** The session JWT sent as a Bearer token. */
  bearer: string;
  /** The JSON body, serialised once rather than on every request. */
  body: Buffer;
}

export function graphqlCall(query: string, bearer: string): GraphQLCall {
  return { query, bearer, body: Buffer.from(JSON.stringify({ query })) };
}

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

export class GraphQLClient {
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** One POST /graphql; the status and raw body, as the server sent them. */
  send(call: GraphQLCall): Promise<{ status: number; body: string }> {
    const payload = call.body;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: '/graphql',
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            authorization: `Bearer ${call.bearer}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Keeps `concurrency` requests in flight for `seconds`. A request counts as failed on a non-200
 * status or an `errors` entry; GraphQL reports most failures with status 200, and a benchmark
 * that measured fast error answers would flatter the server.
 */
async function runRound(
  client: GraphQLClient,
  call: GraphQLCall,
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
        if (status !== 200 || body.includes('"errors"')) failed += 1;
        else latenciesMs.push(performance.now() - sent);
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  // Requests in flight at the deadline are awaited and counted, and so is the time they take.
  return { failed, elapsedMs: performance.now() - started, latenciesMs };
}

/** Pools the rounds of one query: throughput over their summed time, latency over all requests. */
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
function percentile(sorted: number[], fraction: number): number {
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
 * Measures two calls in alternating rounds (a b, b a, a b, ...) rather than one after the other:
 * whatever the shared machine is doing meanwhile then weighs on both alike, which is what makes
 * their ratio worth more than either figure alone.
 */
export async function compareThroughput<Name extends string>(
  client: GraphQLClient,
  calls: [[Name, GraphQLCall], [Name, GraphQLCall]],
  options: ComparisonOptions,
): Promise<{ rounds: number; stats: Record<Name, LoadStats> }> {
  const { concurrency, signal } = options;
  for (const [, call] of calls) await runRound(client, call, concurrency, options.warmupSeconds, signal);

  // Rounds much shorter than a slow request would be mostly ramp-up and drain.
  const rounds = Math.max(1, Math.round(options.seconds / options.roundSeconds));
  const results = new Map<Name, RoundResult[]>(calls.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? calls : [calls[1], calls[0]];
    for (const [name, call] of order) {
      results.get(name)!.push(await runRound(client, call, concurrency, options.seconds / rounds, signal));
    }
  }
  const stats = Object.fromEntries([...results].map(([name, rs]) => [name, summarise(rs)])) as Record<Name, LoadStats>;
  return { rounds, stats };
}

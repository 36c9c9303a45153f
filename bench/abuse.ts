import { fork, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../src/config.js';
import { postgresCpuMeter, type CpuMeter } from './abuse-cpu.js';
import { abuseCases, type AbuseCase } from './abuse-operations.js';
import {
  abuseConfig,
  RSS_SAMPLE_MS,
  type ServerMessage,
  type ServerReady,
  type StatsMark,
  type SuiteMessage,
} from './abuse-protocol.js';
import { Interrupted } from './environment.js';
import { graphqlCall, HttpClient, type HttpCall } from './http.js';
import { percentile } from './load.js';
import { int, ms, row, truncate, type RunInfo } from './report.js';
import type { Settings } from './settings.js';

/**
 * The `abuse` suite. The issue: "the heaviest query the limits still admit, and the cheapest
 * refused one: server CPU, response time and RSS growth for each, beside `viewer`. The admitted
 * worst case must not stall a concurrent `viewer` by more than 1 s or grow RSS by more than
 * 200 MB."
 *
 * The App runs in a child process (bench/abuse-server.ts), so that the CPU time and RSS measured
 * are its own; this process only sends. Each case is sent by a few callers for BENCH_SECONDS
 * while one more caller sends `viewer` requests one at a time, whose latency is compared with
 * that of a phase of `viewer` alone.
 */

/** Callers sending the case at once: an attacker with a few connections, not a flood. */
const SENDERS = 3;
export const TARGET_STALL_MS = 1_000;
export const TARGET_RSS_GROWTH_MB = 200;
const VIEWER_QUERY = 'query { viewer { id } }';
/** After the collection before each phase: more than two of the App thread's heap reports. */
const PAUSE_MS = 500;
const READY_TIMEOUT_MS = 10 * 60_000;
/** After `stop`, the time the App's process has to take everything down before it is killed. */
const STOP_TIMEOUT_MS = 60_000;
const MB = 1024 * 1024;
/** Of each operation, in the result file. */
const QUERY_KEPT = 4_000;

export interface Latencies {
  /** Answered as expected. */
  requests: number;
  failed: number;
  /** The failed ones by reason: "HTTP 503 SERVICE_UNAVAILABLE", "ECONNRESET", ... */
  failures: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface PhaseResult {
  seconds: number;
  /** The case's requests; null in the viewer-alone phase. */
  load: Latencies | null;
  viewer: Latencies;
  /** The App process's CPU time over the phase (all threads), ms. */
  serverCpuMs: number;
  /** The PostgreSQL server's, when it runs on this machine (see bench/abuse-cpu.ts); else null. */
  databaseCpuMs: number | null;
  /** RSS of the App process, MB: before the case's first request (alone), the peak sampled every 100 ms since, and at the end. */
  rss: { beforeMb: number; peakMb: number; afterMb: number; growthMb: number; samples: number };
  /** The App thread's V8 heap in use, MB, over the same span: before, and its peak (sampled less reliably). */
  heap: { beforeMb: number; peakMb: number };
}

/** A case (or viewer) alone: one request at a time, nothing else sent meanwhile. */
export interface AloneResult {
  seconds: number;
  latencies: Latencies;
  /** The App process's CPU time per request, ms. */
  serverCpuMsPerRequest: number;
  /** The PostgreSQL server's per request, when it runs on this machine; else null. */
  databaseCpuMsPerRequest: number | null;
}

export interface CaseResult extends Omit<AbuseCase, 'query'> {
  /**
   * The first request's answer: ADMITTED, or the refusal's code, and the `found` it reported. An
   * admitted one may still carry errors of the service's own overload (see OVERLOAD_CODES).
   */
  answer: {
    outcome: string;
    status: number;
    errors: number;
    errorCodes: string[];
    found: number | null;
    requestBytes: number;
    responseBytes: number;
  };
  alone: AloneResult;
  /** SENDERS callers for BENCH_SECONDS beside the viewer. */
  loaded: PhaseResult;
  /** Viewer max during the loaded phase minus viewer max alone. */
  stallMs: number;
  /** The operation sent, cut to QUERY_KEPT characters (the 1,000 aliases are the same alias 1,000 times). */
  query: string;
  queryChars: number;
}

export interface AbuseResult extends RunInfo {
  seed: ServerReady['seed'];
  limits: Config['graphql'];
  load: { senders: number; seconds: number; warmupSeconds: number; rssSampleMs: number; databaseCpu: string | null };
  /** The viewer alone: the baseline of every phase. */
  viewer: { phase: PhaseResult; alone: AloneResult };
  cases: CaseResult[];
  targets: {
    /** Passes if no admitted case stalls the viewer by the limit or more, and none makes a viewer request fail. */
    stall: { limitMs: number; worstCase: string; worstMs: number; viewerFailures: number; pass: boolean };
    rssGrowth: { limitMb: number; worstCase: string; worstMb: number; pass: boolean };
  };
  /** Most CPU per request alone, App and database together, among the admitted cases. */
  heaviestAdmitted: string;
}

export async function runAbuseBench(settings: Settings, signal: AbortSignal): Promise<AbuseResult> {
  const server = await startAbuseServer(signal);
  const caseClient = new HttpClient(SENDERS);
  const viewerClient = new HttpClient(1);
  try {
    const cpuMeter = settings.serverUrl ? await postgresCpuMeter(settings.serverUrl) : null;
    const { ready } = server;
    console.log(
      `seeded ${int(ready.seed.tokens)} tokens (${int(ready.seed.inTeams)} in ${ready.seed.teams} teams), ` +
        `${int(ready.seed.events)} usage events (${ready.seed.seconds.toFixed(1)} s)`,
    );
    const limits = abuseConfig().graphql;
    const cases = abuseCases(limits, ready.seed.teamIds);
    const viewer = graphqlCall(ready.port, VIEWER_QUERY, ready.jwt);
    const meter = { server, cpuMeter, viewerClient, viewer, settings, signal };

    for (let i = 0; i < 20; i += 1) await viewerClient.send(viewer);
    console.log(`viewer alone for ${settings.seconds} s…`);
    await server.collect();
    await sleep(PAUSE_MS);
    const baseline = await measurePhase(meter, null);
    const viewerAlone = aloneOf(baseline);

    const results: CaseResult[] = [];
    for (const abuse of cases) {
      if (signal.aborted) throw new Interrupted();
      console.log(`${abuse.name} (${abuse.expect}, cost ${int(abuse.cost)}): alone, then ${SENDERS} callers for ${settings.seconds} s…`);
      // From a settled heap: the previous case's garbage is not this one's growth (nor a cover for
      // it). The pause lets in-flight work end, and the App thread report its heap after the collection.
      await server.collect();
      await sleep(PAUSE_MS);
      const call = caseCall(ready.port, ready.jwt, abuse);
      const { answer, alone, marks } = await measureAlone(meter, caseClient, call, abuse);
      const loaded = await measurePhase(meter, { client: caseClient, call }, marks);
      results.push({
        ...abuse,
        query: truncate(abuse.query, QUERY_KEPT),
        queryChars: abuse.query.length,
        answer,
        alone,
        loaded,
        stallMs: loaded.viewer.maxMs - baseline.viewer.maxMs,
      });
    }
    if (signal.aborted) throw new Interrupted();

    const admitted = results.filter((result) => result.expect === 'admitted');
    const worst = (by: (result: CaseResult) => number) => admitted.reduce((a, b) => (by(b) > by(a) ? b : a));
    const worstStall = worst((result) => result.stallMs);
    const worstRss = worst((result) => result.loaded.rss.growthMb);
    const viewerFailures = admitted.reduce((sum, result) => sum + result.loaded.viewer.failed, 0);
    const heaviest = worst((result) => result.alone.serverCpuMsPerRequest + (result.alone.databaseCpuMsPerRequest ?? 0));
    return {
      finishedAt: new Date().toISOString(),
      node: process.version,
      database: ready.database,
      seed: ready.seed,
      limits,
      load: {
        senders: SENDERS,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        rssSampleMs: RSS_SAMPLE_MS,
        databaseCpu: cpuMeter?.description ?? null,
      },
      viewer: { phase: baseline, alone: viewerAlone },
      cases: results,
      targets: {
        stall: {
          limitMs: TARGET_STALL_MS,
          worstCase: worstStall.name,
          worstMs: worstStall.stallMs,
          viewerFailures,
          pass: worstStall.stallMs < TARGET_STALL_MS && viewerFailures === 0,
        },
        rssGrowth: {
          limitMb: TARGET_RSS_GROWTH_MB,
          worstCase: worstRss.name,
          worstMb: worstRss.loaded.rss.growthMb,
          pass: worstRss.loaded.rss.growthMb < TARGET_RSS_GROWTH_MB,
        },
      },
      heaviestAdmitted: heaviest.name,
    };
  } finally {
    caseClient.close();
    viewerClient.close();
    await server.stop();
  }
}

// --- The App's process ---------------------------------------------------------------------

interface AbuseServer {
  ready: ServerReady;
  child: ChildProcess;
  /** A full garbage collection in the App's process; its RSS after. */
  collect(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Forks bench/abuse-server.ts with this process's own Node flags (tsx's loader among them) and
 * --expose-gc, and waits until it has seeded its database. It is killed if this process exits
 * without stopping it.
 */
async function startAbuseServer(signal: AbortSignal): Promise<AbuseServer> {
  const child = fork(fileURLToPath(new URL('./abuse-server.ts', import.meta.url)), [], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.connected) child.send({ type: 'stop' } satisfies SuiteMessage);
    const timer = setTimeout(killOnExit, STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    process.off('exit', killOnExit);
  };

  try {
    const ready = await new Promise<ServerReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the abuse server was not ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      child.on('message', (message: ServerMessage) => {
        if (message.type === 'ready') resolve(message);
        else if (message.type === 'failed') reject(new Error(`the abuse server failed: ${message.message}`));
        else return;
        clearTimeout(timer);
      });
      child.once('exit', (code, exitSignal) => fail(new Error(`the abuse server exited (${exitSignal ?? code}) before it was ready`)));
      child.once('error', fail);
      signal.addEventListener('abort', () => fail(new Interrupted()), { once: true });
    });
    const collect = () =>
      new Promise<number>((resolve) => {
        const onMessage = (message: ServerMessage) => {
          if (message.type !== 'collected') return;
          child.off('message', onMessage);
          resolve(message.rss);
        };
        child.on('message', onMessage);
        child.send({ type: 'collect' } satisfies SuiteMessage);
      });
    return { ready, child, collect, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** GET /mark on the App process's stats thread: its RSS and CPU now, and the peak RSS since the last mark. */
function mark(server: AbuseServer): Promise<StatsMark> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: server.ready.statsPort, path: '/mark' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(JSON.parse(body) as StatsMark));
      res.on('error', reject);
    }).on('error', reject);
  });
}

// --- Sending ---------------------------------------------------------------------------------

function caseCall(port: number, jwt: string, abuse: AbuseCase): HttpCall {
  const call = graphqlCall(port, abuse.query, jwt);
  if (abuse.expect === 'admitted') return { ...call, label: abuse.name };
  const code = `"code":"${abuse.expect}"`;
  return { ...call, label: abuse.name, accepts: (_status, body) => body.includes(code) };
}

/**
 * Errors an admitted operation may be answered with that are the service's own doing, not the
 * benchmark's: its queries waited longer than the pool's 5 s for a connection, or ran past the
 * statement timeout. They are what the case does to the service, so they are measured (as failed
 * answers), not a reason to stop. Any other error means the benchmark's operation is wrong.
 */
const OVERLOAD_CODES = new Set(['SERVICE_UNAVAILABLE']);

/** The case's first request: it must be answered as expected, or nothing is worth measuring. */
async function checkAnswer(client: HttpClient, call: HttpCall, abuse: AbuseCase): Promise<{ answer: CaseResult['answer']; ms: number }> {
  const started = performance.now();
  const answer = await client.send(call);
  const elapsed = performance.now() - started;
  const body = JSON.parse(answer.body) as { errors?: Array<{ message: string; extensions?: { code?: string; found?: number } }> };
  const errors = body.errors ?? [];
  const codes = [...new Set(errors.map((error) => error.extensions?.code ?? error.message))];
  const refusal = abuse.expect === 'admitted' ? null : errors[0]?.extensions?.code;
  const expected =
    abuse.expect === 'admitted' ? codes.every((code) => OVERLOAD_CODES.has(code)) : refusal === abuse.expect && errors.length === 1;
  if (!expected) throw new Error(`${abuse.name}: expected ${abuse.expect}, got (${answer.status}) ${truncate(answer.body, 500)}`);
  return {
    answer: {
      outcome: refusal ?? 'ADMITTED',
      status: answer.status,
      errors: errors.length,
      errorCodes: codes,
      found: errors[0]?.extensions?.found ?? null,
      requestBytes: call.body.length,
      responseBytes: Buffer.byteLength(answer.body),
    },
    ms: elapsed,
  };
}

/**
 * The case alone, one request at a time, the first one checked, until BENCH_WARMUP_SECONDS have
 * passed (so at least one request, and only one of a case slower than that): its CPU and
 * response time without company, measured over many requests for a cheap case, where one would
 * be lost in the noise. It is also the loaded phase's warm-up.
 */
async function measureAlone(
  meter: Meter,
  client: HttpClient,
  call: HttpCall,
  abuse: AbuseCase,
): Promise<{ answer: CaseResult['answer']; alone: AloneResult; marks: { start: StatsMark; end: StatsMark } }> {
  const start = await mark(meter.server);
  const databaseStart = await meter.cpuMeter?.sample();
  const started = performance.now();
  const deadline = started + meter.settings.warmupSeconds * 1000;
  const { answer, ms: firstMs } = await checkAnswer(client, call, abuse);
  const sent = await closedLoop(client, call, 1, () => performance.now() >= deadline || meter.signal.aborted);
  sent.latenciesMs.push(firstMs);
  const seconds = (performance.now() - started) / 1000;
  const end = await mark(meter.server);
  const databaseEnd = await meter.cpuMeter?.sample();
  const requests = sent.latenciesMs.length;
  return {
    answer,
    marks: { start, end },
    alone: {
      seconds,
      latencies: latencies(sent),
      serverCpuMsPerRequest: cpuMs(start, end) / requests,
      databaseCpuMsPerRequest: databaseStart === undefined || databaseEnd === undefined ? null : (databaseEnd - databaseStart) / requests,
    },
  };
}

/** The viewer-alone phase, as the viewer's AloneResult. */
function aloneOf(phase: PhaseResult): AloneResult {
  const requests = phase.viewer.requests + phase.viewer.failed;
  return {
    seconds: phase.seconds,
    latencies: phase.viewer,
    serverCpuMsPerRequest: phase.serverCpuMs / requests,
    databaseCpuMsPerRequest: phase.databaseCpuMs === null ? null : phase.databaseCpuMs / requests,
  };
}

function cpuMs(start: StatsMark, end: StatsMark): number {
  return (end.cpuUserUs + end.cpuSystemUs - start.cpuUserUs - start.cpuSystemUs) / 1000;
}

interface Sent {
  latenciesMs: number[];
  failed: number;
  failures: Record<string, number>;
}

/** Why an answer failed, in a word: its status and first error code, or the socket's error. */
function failureOf(answer: { status: number; body: string } | null, error?: unknown): string {
  if (!answer) return (error as NodeJS.ErrnoException)?.code ?? String(error);
  const code = /"code":"([A-Z_]+)"/.exec(answer.body)?.[1];
  return `HTTP ${answer.status}${code ? ` ${code}` : ''}`;
}

/**
 * `concurrency` callers, each sending its next request when the last is answered, until the
 * deadline; the requests in flight then are awaited. Failed answers are counted, but their time is
 * kept too: a viewer answered 503 after waiting 5 s for a connection was stalled 5 s.
 */
async function closedLoop(client: HttpClient, call: HttpCall, concurrency: number, until: () => boolean): Promise<Sent> {
  const sent: Sent = { latenciesMs: [], failed: 0, failures: {} };
  const fail = (why: string) => {
    sent.failed += 1;
    sent.failures[why] = (sent.failures[why] ?? 0) + 1;
  };
  const caller = async () => {
    while (!until()) {
      const started = performance.now();
      try {
        const answer = await client.send(call);
        if (!call.accepts(answer.status, answer.body)) fail(failureOf(answer));
      } catch (error) {
        fail(failureOf(null, error));
      }
      sent.latenciesMs.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return sent;
}

function latencies(sent: Sent): Latencies {
  const sorted = [...sent.latenciesMs].sort((a, b) => a - b);
  return {
    requests: sorted.length - sent.failed,
    failed: sent.failed,
    failures: sent.failures,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

interface Meter {
  server: AbuseServer;
  cpuMeter: CpuMeter | null;
  viewerClient: HttpClient;
  viewer: HttpCall;
  settings: Settings;
  signal: AbortSignal;
}

/**
 * One phase: the case's senders for BENCH_SECONDS (none for the viewer-alone phase) and, all the
 * while, the viewer one request at a time, until the case's last request is answered. `alone` are
 * the marks around the case alone, just before: RSS growth counts from the case's first request.
 */
async function measurePhase(
  meter: Meter,
  load: { client: HttpClient; call: HttpCall } | null,
  alone?: { start: StatsMark; end: StatsMark },
): Promise<PhaseResult> {
  const { settings, signal } = meter;
  const start = await mark(meter.server);
  const databaseStart = await meter.cpuMeter?.sample();
  const started = performance.now();
  const deadline = started + settings.seconds * 1000;
  const pastDeadline = () => performance.now() >= deadline || signal.aborted;

  let loadDone = load === null;
  const viewer = closedLoop(meter.viewerClient, meter.viewer, 1, () => (loadDone && pastDeadline()) || signal.aborted);
  const sent = load ? await closedLoop(load.client, load.call, SENDERS, pastDeadline) : null;
  loadDone = true;
  const viewerSent = await viewer;
  const seconds = (performance.now() - started) / 1000;

  const end = await mark(meter.server);
  const databaseEnd = await meter.cpuMeter?.sample();
  // The peak since each mark: alone's end covers the case alone, start the pause after it, end this phase.
  const first = alone?.start ?? start;
  const peak = Math.max(alone ? Math.max(alone.end.peakRss, start.peakRss) : 0, end.peakRss);
  return {
    seconds,
    load: sent ? latencies(sent) : null,
    viewer: latencies(viewerSent),
    serverCpuMs: cpuMs(start, end),
    databaseCpuMs: databaseStart === undefined || databaseEnd === undefined ? null : databaseEnd - databaseStart,
    rss: {
      beforeMb: first.rss / MB,
      peakMb: peak / MB,
      afterMb: end.rss / MB,
      growthMb: (peak - first.rss) / MB,
      samples: (alone ? alone.end.samples + start.samples : 0) + end.samples,
    },
    heap: {
      beforeMb: first.heapUsed / MB,
      peakMb: Math.max(alone ? Math.max(alone.end.peakHeapUsed, start.peakHeapUsed) : 0, end.peakHeapUsed) / MB,
    },
  };
}

// --- Report ------------------------------------------------------------------------------------

export function printAbuseReport(result: AbuseResult): void {
  const { seed, load, viewer, cases, targets, limits } = result;
  const lines = [
    '',
    'Keymint benchmark: the heaviest operations the limits admit, and refused ones, beside viewer',
    '',
    `database   ${result.database.description}${result.database.poolMax ? ` (pool of ${result.database.poolMax})` : ''}`,
    `seeded     one user: ${int(seed.tokens)} tokens (${int(seed.revoked)} revoked, ${int(seed.inTeams)} in ${seed.teams} teams, ` +
      `${int(seed.children)} minted by another), ${int(seed.events)} usage events over ${seed.eventDays} days (${seed.seconds.toFixed(1)} s)`,
    `limits     depth ${limits.maxDepth}, aliases ${limits.maxAliases}, tokens ${int(limits.maxTokens)}, directives ${limits.maxDirectives}, cost ${int(limits.maxCost)}`,
    `load       each case alone (one request at a time, ${load.warmupSeconds} s, at least one request), then ${load.senders} callers for ` +
      `${load.seconds} s (in-flight requests awaited) beside one viewer request at a time`,
    `measured   the App in a process of its own: CPU of all its threads, RSS sampled every ${load.rssSampleMs} ms`,
    `DB CPU     ${load.databaseCpu ?? 'none apart: PGlite runs in the App process, in its CPU figure (or the server is not on this machine)'}`,
    '',
    'The cases',
    ...cases.map((c) => `  ${c.name.padEnd(14)} ${caseSummary(c)}\n  ${''.padEnd(14)} ${c.about}`),
    '',
    'Alone: one request at a time (CPU ms per request)',
    row(['case', 'cost', 'req KB', 'resp KB', 'requests', 'p50 ms', 'max ms', 'App CPU', 'DB CPU'], 16, 10),
    aloneRow('viewer', '-', '-', '-', viewer.alone),
    ...cases.map((c) => aloneRow(c.name, int(c.cost), kb(c.answer.requestBytes), kb(c.answer.responseBytes), c.alone)),
    '',
    `Under load: ${load.senders} callers, and beside them the viewer, one request at a time (stall: its max minus its max alone)`,
    row(['case', 'seconds', 'requests', 'failed', 'p50 ms', 'p99 ms', 'viewers', 'v failed', 'v p50', 'v p99', 'v max', 'stall ms'], 16, 9),
    loadedRow('viewer alone', viewer.phase, null),
    ...cases.map((c) => loadedRow(c.name, c.loaded, c.stallMs)),
    ...failureLines(cases),
    '',
    `The App process under load: CPU in use (cores); RSS and heap used (MB) from the case's first request (alone) to its last`,
    row(['case', 'App cores', 'DB cores', 'RSS before', 'peak', 'after', 'growth', 'heap before', 'heap peak'], 16, 12),
    rssRow('viewer alone', viewer.phase),
    ...cases.map((c) => rssRow(c.name, c.loaded)),
    '',
    `heaviest admitted (App + DB CPU per request alone): ${result.heaviestAdmitted}`,
    `${targets.stall.pass ? 'PASS' : 'FAIL'}  viewer stall < ${int(targets.stall.limitMs)} ms, and no viewer request failed, in every admitted case: ` +
      `worst ${targets.stall.worstCase}, +${int(targets.stall.worstMs)} ms; ${int(targets.stall.viewerFailures)} viewer requests failed`,
    `${targets.rssGrowth.pass ? 'PASS' : 'FAIL'}  RSS growth < ${targets.rssGrowth.limitMb} MB in every admitted case: ` +
      `worst ${targets.rssGrowth.worstCase}, +${mb(targets.rssGrowth.worstMb)} MB`,
    '',
  ];
  console.log(lines.join('\n'));
}

/** Why answers failed under load, where any did. */
function failureLines(cases: CaseResult[]): string[] {
  const reasons = (failures: Record<string, number>) => Object.entries(failures).map(([why, n]) => `${int(n)} ${why}`).join(', ');
  const lines = cases.flatMap((c) => [
    ...(c.loaded.load!.failed > 0 ? [`  ${c.name}: ${reasons(c.loaded.load!.failures)}`] : []),
    ...(c.loaded.viewer.failed > 0 ? [`  ${c.name}, its viewer: ${reasons(c.loaded.viewer.failures)}`] : []),
  ]);
  return lines.length > 0 ? ['failed answers under load', ...lines] : [];
}

function cpu(value: number | null): string {
  return value === null ? '-' : ms(value);
}

function mb(value: number): string {
  return value.toFixed(0);
}

function aloneRow(label: string, cost: string, requestKb: string, responseKb: string, alone: AloneResult): string {
  const l = alone.latencies;
  return row([label, cost, requestKb, responseKb, int(l.requests + l.failed), ms(l.p50Ms), ms(l.maxMs),
    cpu(alone.serverCpuMsPerRequest), cpu(alone.databaseCpuMsPerRequest)], 16, 10);
}

function loadedRow(label: string, phase: PhaseResult, stallMs: number | null): string {
  const v = phase.viewer;
  const load = phase.load;
  return row([label, phase.seconds.toFixed(1), load ? int(load.requests) : '-', load ? int(load.failed) : '-',
    load ? ms(load.p50Ms) : '-', load ? ms(load.p99Ms) : '-', int(v.requests + v.failed), int(v.failed), ms(v.p50Ms), ms(v.p99Ms),
    ms(v.maxMs), stallMs === null ? '-' : int(stallMs)], 16, 9);
}

function rssRow(label: string, phase: PhaseResult): string {
  const cores = (cpuMs: number | null) => (cpuMs === null ? '-' : (cpuMs / 1000 / phase.seconds).toFixed(2));
  return row([label, cores(phase.serverCpuMs), cores(phase.databaseCpuMs), mb(phase.rss.beforeMb), mb(phase.rss.peakMb),
    mb(phase.rss.afterMb), mb(phase.rss.growthMb), mb(phase.heap.beforeMb), mb(phase.heap.peakMb)], 16, 12);
}

function caseSummary(c: CaseResult): string {
  const aliases = c.aliases > 0 ? `${int(c.aliases)} aliases, ` : '';
  if (c.expect === 'admitted') {
    const errors = c.answer.errors === 0 ? '' : `; its first answer: HTTP ${c.answer.status}, ${int(c.answer.errors)} errors ${c.answer.errorCodes.join(', ')}`;
    return `admitted: ${aliases}cost ${int(c.cost)}${errors}`;
  }
  const found = c.answer.found === null ? '' : ` (found ${int(c.answer.found)})`;
  return `refused ${c.answer.outcome}${found}: ${aliases}cost ${int(c.cost)}`;
}

function kb(bytes: number): string {
  return bytes < 10_240 ? (bytes / 1024).toFixed(1) : int(bytes / 1024);
}

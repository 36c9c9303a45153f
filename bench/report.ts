import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadStats } from './load.js';
import type { SeedSummary } from './seed.js';

/** What one run measured; printed as a table and kept as JSON for comparing runs. */
export interface BenchResult {
  finishedAt: string;
  node: string;
  database: { kind: 'server' | 'embedded'; description: string; poolMax: number | null };
  seed: SeedSummary & { seconds: number };
  load: { concurrency: number; secondsPerQuery: number; rounds: number; warmupSeconds: number };
  statements: { viewer: string[]; list: string[] };
  throughput: { viewer: LoadStats; list: LoadStats };
  /** list req/s divided by viewer req/s: the share of viewer throughput a page of 50 keeps. */
  ratio: number;
}

export const LIST_LABEL = 'tokens(first: 50)';
const STATEMENT_WIDTH = 110;

export function printReport(result: BenchResult): void {
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
    row(['query', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'failed']),
    row(['viewer', ...statsCells(throughput.viewer)]),
    row([LIST_LABEL, ...statsCells(throughput.list)]),
    '',
    `ratio list/viewer  ${result.ratio.toFixed(3)}  (a page of 50 costs about ${(1 / result.ratio).toFixed(1)} viewer requests)`,
    '',
  ];
  console.log(lines.join('\n'));
}

export async function writeResult(result: BenchResult, file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
}

function statementLines(label: string, statements: string[]): string[] {
  return [
    `  ${label.padEnd(20)} ${statements.length}`,
    ...statements.map((sql, i) => `      ${i + 1}. ${truncate(sql.replace(/\s+/g, ' ').trim(), STATEMENT_WIDTH)}`),
  ];
}

function statsCells(stats: LoadStats): string[] {
  return [
    int(Math.round(stats.requestsPerSecond)),
    stats.p50Ms.toFixed(1),
    stats.p99Ms.toFixed(1),
    int(stats.requests),
    int(stats.failed),
  ];
}

function row([label, ...cells]: string[]): string {
  return `  ${label!.padEnd(20)}${cells.map((cell) => cell.padStart(10)).join('')}`;
}

function int(value: number): string {
  return value.toLocaleString('en-US');
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

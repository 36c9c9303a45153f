import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadStats } from './load.js';

/** Table formatting shared by the suites' reports, and the JSON files that keep each suite's last run. */

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export interface RunInfo {
  finishedAt: string;
  node: string;
  database: { kind: 'server' | 'embedded'; description: string; poolMax: number | null };
}

/** Writes bench/results/<suite>.json (ignored by git), replacing the previous run's; returns the path. */
export async function writeResult(suite: string, result: unknown): Promise<string> {
  const file = path.join(RESULTS_DIR, `${suite}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export const LOAD_HEADER = ['req/s', 'p50 ms', 'p99 ms', 'requests', 'failed'];

export function loadCells(stats: LoadStats): string[] {
  return [int(Math.round(stats.requestsPerSecond)), ms(stats.p50Ms), ms(stats.p99Ms), int(stats.requests), int(stats.failed)];
}

/** A label column, then right-aligned cells. */
export function row([label, ...cells]: string[], labelWidth = 20, cellWidth = 10): string {
  return `  ${label!.padEnd(labelWidth)}${cells.map((cell) => cell.padStart(cellWidth)).join('')}`;
}

export function int(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '-';
}

export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

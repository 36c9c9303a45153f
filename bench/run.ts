import { printAbuseReport, runAbuseBench } from './abuse.js';
import { withEnvironment, Interrupted, type BenchEnvironment } from './environment.js';
import { printListReport, runListBench } from './list.js';
import { printPropagationReport, runPropagationBench } from './propagation.js';
import { writeResult } from './report.js';
import { readSettings, type Settings } from './settings.js';
import { printUsageReport, runUsageBench } from './usage.js';
import { printVerifyReport, runVerifyBench } from './verify.js';

/**
 * `npm run bench [-- suite...]`: the suites named (all by default), one after another, each on a
 * fresh database and App. See bench/README.md for what each measures and how to read it.
 */

interface Suite<Result> {
  run: (settings: Settings, signal: AbortSignal) => Promise<Result>;
  print: (result: Result) => void;
}

/** A suite that needs nothing but the standard environment: one App with the default configuration. */
function inEnvironment<Result>(run: (env: BenchEnvironment, settings: Settings, signal: AbortSignal) => Promise<Result>) {
  return (settings: Settings, signal: AbortSignal) => withEnvironment(settings, (env) => run(env, settings, signal));
}

const SUITES = {
  list: { run: inEnvironment(runListBench), print: printListReport },
  verify: { run: inEnvironment(runVerifyBench), print: printVerifyReport },
  usage: { run: inEnvironment(runUsageBench), print: printUsageReport },
  // Sets up its own: a private redis-server, then the environment with REDIS_URL, and a second App.
  propagation: { run: runPropagationBench, print: printPropagationReport },
  // Runs the App in a child process of its own (bench/abuse-server.ts), whose CPU and RSS it measures.
  abuse: { run: runAbuseBench, print: printAbuseReport },
} satisfies Record<string, Suite<any>>;
type SuiteName = keyof typeof SUITES;

function suitesOf(args: string[]): SuiteName[] {
  const names = Object.keys(SUITES) as SuiteName[];
  const unknown = args.filter((arg) => !names.includes(arg as SuiteName));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}: choose from ${names.join(', ')}`);
  return args.length === 0 ? names : names.filter((name) => args.includes(name));
}

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const suites = suitesOf(process.argv.slice(2));
  const interrupted = new AbortController();
  // Once only: a second Ctrl-C kills the process outright, should the clean-up itself hang.
  process.once('SIGINT', () => interrupted.abort());

  for (const name of suites) {
    console.log(`\n== ${name} ==`);
    const suite: Suite<unknown> = SUITES[name] as Suite<unknown>;
    const result = await suite.run(settings, interrupted.signal);
    suite.print(result);
    console.log(`written to ${await writeResult(name, result)}`);
    if (interrupted.signal.aborted) throw new Interrupted();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Interrupted ? error.message : error);
  process.exitCode = 1;
});

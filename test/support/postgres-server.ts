import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free port, never the
 * machine's shared one (nor TEST_DATABASE_URL's), so a fault test may stop and restart it under
 * load. Durability is switched off: the data is thrown away with the directory.
 */

export interface PostgresServer {
  /** The `postgres` database, as the `postgres` superuser (trust authentication, no password). */
  url: string;
  port: number;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop`, waiting until the server is gone: `fast` by default, `immediate` for a crash-like stop. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory, and waits until it accepts connections. */
  start(): Promise<void>;
  isRunning(): boolean;
  /** Stops it (immediately) if running and removes its directory; safe to call more than once. */
  destroy(): Promise<void>;
}

const POSTGRES_ROOT = '/usr/lib/postgresql';
const READY_TIMEOUT_MS = 30_000;

const execFileAsync = promisify(execFile);

/** The newest `/usr/lib/postgresql/<version>/bin` with initdb, pg_ctl and postgres, or null when there is none. */
export function postgresBinaries(): string | null {
  let versions: string[];
  try {
    versions = readdirSync(POSTGRES_ROOT);
  } catch {
    return null;
  }
  const newestFirst = versions.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  for (const version of newestFirst) {
    const bin = path.join(POSTGRES_ROOT, version, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((name) => existsSync(path.join(bin, name)))) return bin;
  }
  return null;
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinaries();
  if (bin === null) throw new Error(`no PostgreSQL binaries (initdb, pg_ctl, postgres) under ${POSTGRES_ROOT}/*/bin`);
  // initdb and postgres refuse to run as root, and tests may well run as root (in containers, on
  // CI): then they run as the postgres user, which must then own everything they write.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : null;

  const dir = await mkdtemp(path.join(tmpdir(), 'keymint-pg-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  const logFile = path.join(dir, 'server.log');
  const forget = cleanUpOnExit(() => {
    try {
      const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      // SIGQUIT is PostgreSQL's immediate shutdown.
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // No server running.
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  const run = async (binary: string, args: string[], timeout: number): Promise<string> => {
    const file = path.join(bin, binary);
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    try {
      // cwd: the postgres user may not be allowed into the test's working directory.
      const { stdout } = await execFileAsync(command, argv, { cwd: dir, timeout });
      return stdout;
    } catch (error) {
      const failure = error as ExecFileException & { stdout?: string; stderr?: string };
      const how = failure.killed
        ? `killed after ${timeout} ms`
        : typeof failure.code === 'number'
          ? `exit code ${failure.code}`
          : failure.message;
      const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
      throw new Error(`${[command, ...argv].join(' ')}: ${how}\n${output}${await logTail(logFile)}`, { cause: error });
    }
  };

  try {
    await mkdir(socketDir);
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(socketDir, owner.uid, owner.gid);
    }
    // --no-locale: the C locale, so neither the machine's locale nor its encoding can refuse UTF8.
    const initdb = ['--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions'];
    await run('initdb', ['-D', dataDir, ...initdb], 120_000);
  } catch (error) {
    forget();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let port = 0;
  let running = false;
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  const start = async () => {
    if (running) return;
    // pg_ctl hands -o to a shell, hence the quotes around the one path in it.
    const options =
      `-p ${port} -k '${socketDir}' -c listen_addresses=127.0.0.1` + ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
    await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start'], 90_000);
    running = true;
    await waitForConnections(urlOf('postgres'), logFile);
  };

  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    if (!running) return;
    await run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], 90_000);
    running = false;
  };

  let destroyed: Promise<void> | null = null;
  const destroy = () => {
    destroyed ??= (async () => {
      forget();
      try {
        // The flag may be stale if a start failed half-way; the pid file says whether a server is up.
        if (running || existsSync(path.join(dataDir, 'postmaster.pid'))) {
          running = true;
          await stop('immediate');
        }
      } finally {
        running = false;
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      }
    })();
    return destroyed;
  };

  // The port was free a moment ago, not necessarily now: on the first start, another one is tried.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const logged = (await readLog(logFile)).length;
    try {
      await start();
      break;
    } catch (error) {
      const taken = (await readLog(logFile)).slice(logged).includes('could not bind');
      if (!taken || attempt === 3) {
        await destroy();
        throw error;
      }
    }
  }

  return {
    url: urlOf('postgres'),
    port,
    async createDatabase(name: string) {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`create database ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    stop,
    start,
    isRunning: () => running,
    destroy,
  };
}

/**
 * pg_ctl detaches the server from this process, so nothing stops it if the test process ends
 * without destroy(): vitest ends its workers with SIGTERM, and Ctrl-C sends SIGINT. While servers
 * are alive, those signals and a plain exit run their cleanups (synchronously) first; a signal is
 * then raised again, so the process still ends as it would have.
 */
const cleanups = new Set<() => void>();
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function runCleanups() {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is ending anyway.
    }
  }
  cleanups.clear();
  process.off('exit', runCleanups);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function onSignal(signal: NodeJS.Signals) {
  runCleanups();
  // Other listeners, if any, decide what the signal does; alone, restore its default (ending the process).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Runs `cleanup` if the process ends first; returns the function that cancels that. */
function cleanUpOnExit(cleanup: () => void): () => void {
  if (cleanups.size === 0) {
    process.on('exit', runCleanups);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  }
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) runCleanups();
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'], { timeout: 10_000 })).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch (error) {
    throw new Error('running as root, but there is no postgres user to run PostgreSQL as', { cause: error });
  }
}

/** `pg_ctl -w` says the server is up; this says it also answers a query over TCP, as the tests will use it. */
async function waitForConnections(url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `PostgreSQL at ${url} did not accept connections within ${READY_TIMEOUT_MS} ms: ${String(lastError)}\n${await logTail(logFile)}`,
  );
}

async function readLog(logFile: string): Promise<string> {
  return readFile(logFile, 'utf8').catch(() => '');
}

/** The server log's last lines, for error messages. */
async function logTail(logFile: string, lines = 30): Promise<string> {
  const text = (await readLog(logFile)).trimEnd();
  if (text === '') return `--- nothing in the server log ${logFile} ---`;
  return `--- ${logFile} (last ${lines} lines) ---\n${text.split('\n').slice(-lines).join('\n')}`;
}

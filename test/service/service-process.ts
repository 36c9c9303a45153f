import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Runs Keymint the way `npm start` does (`node --import tsx src/server.ts`, one process that gets
 * its signals itself), and the CLIs the same way, as child processes, with an environment built from scratch so that
 * nothing from the developer's shell (DATABASE_URL, AUTH_JWT_SECRET...) leaks into the test.
 */

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Only what node needs to run, plus the variables given. */
export function serviceEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SystemRoot']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return { ...env, ...vars };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written so far to stdout and stderr. */
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has exited (at once if it already has). */
  exited: Promise<Exit>;
  /** The exit, once there is one. */
  exit(): Exit | null;
}

/** Starts `node --import tsx <script>` in its own process group, so that the group can be killed together. */
export function startScript(script: string, env: NodeJS.ProcessEnv, args: string[] = []): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: PROJECT_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exit: Exit | null = null;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => {
      err += `spawn failed: ${String(error)}\n`;
      exit = { code: null, signal: null };
      resolve(exit);
    });
    // 'close' rather than 'exit': the output streams are complete by then.
    child.once('close', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited, exit: () => exit };
}

/** Kills the process group if it is still running; safe to call more than once. */
export async function killProcess(service: ServiceProcess | undefined): Promise<void> {
  if (!service || service.exit() !== null || service.child.pid === undefined) return;
  try {
    process.kill(-service.child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await service.exited;
}

/** Resolves with `promise`, or rejects after `ms` with a message saying what was awaited. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls GET /readyz until it answers 200; fails early if the process exits first. */
export async function waitUntilReady(service: ServiceProcess, baseUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = service.exit();
    if (exit) {
      throw new Error(
        `the service exited before it was ready (code ${exit.code}, signal ${exit.signal}):\n${service.stderr()}\n${service.stdout()}`,
      );
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) });
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the service was not ready within ${timeoutMs} ms:\n${service.stderr()}\n${service.stdout()}`);
}

const execFileAsync = promisify(execFile);

/** Runs `node --import tsx <script> ...args` to completion and returns its stdout (as `npm run session` would). */
export async function runScript(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: PROJECT_ROOT, env, timeout: 60_000 });
  return stdout;
}

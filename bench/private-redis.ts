import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A redis-server of the benchmark's own, on a free port of 127.0.0.1, without persistence: never
 * the machine's shared Redis, whose other clients would weigh on the figures (and whose data a
 * benchmark has no business touching). Adapted from test/cluster/redis-server.ts.
 *
 * It stays in this process's group, so a Ctrl-C in the terminal reaches it too; and it is killed
 * when this process exits however it exits (short of SIGKILL), so none is left behind.
 */
export interface PrivateRedis {
  url: string;
  /** For the report: which redis-server, and where. */
  description: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => {
    if (!hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      child.once('error', (error: NodeJS.ErrnoException) =>
        fail(error.code === 'ENOENT' ? new Error('the propagation suite needs redis-server on the PATH') : error),
      );
      child.once('exit', (code, signal) => fail(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        // Kept only until it is ready; afterwards the data is read and dropped, so the pipe never fills.
        if (output.length < 10_000) output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (output.length < 10_000) output += chunk.toString();
      });
    });
  } catch (error) {
    killOnExit();
    process.off('exit', killOnExit);
    throw error;
  }

  const version = /version=([\d.]+)/.exec(output)?.[1];
  return {
    url: `redis://127.0.0.1:${port}`,
    description: `private redis-server${version ? ` ${version}` : ''} on 127.0.0.1:${port} (pid ${child.pid}, no persistence)`,
    stop: async () => {
      process.off('exit', killOnExit);
      if (hasExited(child)) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}

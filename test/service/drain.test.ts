import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../src/auth/session-signer.js';
import { createOrm } from '../../src/db/orm.js';
import { TEST_SECRET } from '../harness.js';
import { freePort } from '../support/free-port.js';
import { killProcess, serviceEnv, startScript, waitUntilReady, within, type ServiceProcess } from './service-process.js';

/**
 * SIGTERM under keep-alive load: the server stops taking requests at once (idle connections
 * closed, in-flight responses sent with `Connection: close`, late arrivals answered 503), finishes
 * what was in flight, writes every buffered usage event, and exits 0 well within
 * SHUTDOWN_TIMEOUT_MS instead of serving on until a forced close.
 */

const SHUTDOWN_TIMEOUT_MS = 8_000;
let dataDir: string;
let port: number;
let service: ServiceProcess | undefined;

interface Answer {
  status: number;
  connection: string | undefined;
  at: number;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'keymint-drain-'));
  port = await freePort();
  service = startScript(
    'src/server.ts',
    serviceEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_JWT_SECRET: TEST_SECRET,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      // Time never flushes usage by itself: what is stored at the end was written by the shutdown.
      USAGE_FLUSH_INTERVAL_MS: '600000',
      LOG_LEVEL: 'info',
    }),
  );
  await waitUntilReady(service, `http://127.0.0.1:${port}`);
});

afterAll(async () => {
  await killProcess(service);
  await rm(dataDir, { recursive: true, force: true });
});

function post(agent: Agent, body: string, authorization: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', authorization } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, at: performance.now() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('SIGTERM under keep-alive load', () => {
  it('stops taking requests, finishes those in flight, flushes usage and exits 0 quickly', async () => {
    const session = await signSession(TEST_SECRET, { subject: 'drain|1', email: 'drain@example.com', permissions: ['tools.*'] });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const minted = await post(
      agent,
      JSON.stringify({ query: 'mutation { mintToken(input: { name: "load", expiresInDays: 1 }) { ... on MintTokenPayload { secret } } }' }),
      `Bearer ${session}`,
    );
    expect(minted.status).toBe(200);
    // The secret comes back in the body; read it with a plain fetch this once.
    const mintedBody = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
      body: JSON.stringify({ query: 'mutation { mintToken(input: { name: "loaded", expiresInDays: 1 }) { ... on MintTokenPayload { secret } } }' }),
    }).then((response) => response.json());
    const secret: string = mintedBody.data.mintToken.secret;

    // Eight connections, each sending the next request as soon as the last answer is in. Every
    // request with the API token verifies it, so each 200 is one usage event to be written.
    const answers: Answer[] = [];
    const failures: string[] = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        try {
          answers.push(await post(agent, JSON.stringify({ query: '{ viewer { id } }' }), `Bearer ${secret}`));
        } catch (error) {
          // Refused or reset once the server stopped listening: the expected end of the load.
          failures.push((error as NodeJS.ErrnoException).code ?? String(error));
          return;
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(20);

    const sigterm = performance.now();
    // To the process group, as a container runtime stopping the service would.
    process.kill(-service!.child.pid!, 'SIGTERM');
    const exit = await within(SHUTDOWN_TIMEOUT_MS + 2_000, 'the service exiting after SIGTERM', service!.exited);
    const exitedAfter = performance.now() - sigterm;
    stop = true;
    await within(5_000, 'the load loops ending', Promise.all(loops));
    agent.destroy();

    expect(exit.code, service!.stderr() + service!.stdout()).toBe(0);
    // Not the drain deadline: the drain ends when the in-flight requests do.
    expect(exitedAfter).toBeLessThan(SHUTDOWN_TIMEOUT_MS / 2);
    // After SIGTERM each of the 8 connections carries at most what was already on it: the response
    // being written when the signal arrived, then one answered with Connection: close. A server
    // serving on over open connections would show hundreds here.
    const late = answers.filter((a) => a.at > sigterm);
    expect(late.length).toBeLessThanOrEqual(16);
    expect(late.filter((a) => a.at > sigterm + 250 && a.connection !== 'close')).toEqual([]);
    expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    expect(failures.every((code) => ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(code)), failures.join(',')).toBe(true);
    expect(service!.stdout()).toMatch(/shutting down/);

    // Every verification that answered 200 was written before the exit.
    const orm = await createOrm({ kind: 'embedded', dataDir });
    try {
      const [row] = await orm.em
        .getConnection()
        .execute<{ n: number }[]>(`select count(*)::int as n from usage_events e join tokens t on t.id = e.token_id where t.name = 'loaded'`);
      expect(row!.n).toBe(answers.filter((a) => a.status === 200).length);
    } finally {
      await orm.close(true);
    }
  });
});

import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { killProcess, runScript, serviceEnv, startScript, waitUntilReady, within, type ServiceProcess } from './service-process.js';

/**
 * The real thing: `tsx src/server.ts` in a child process, over a real socket, with the embedded
 * database and the development session secret both kept in a fresh DATA_DIR.
 */

const TOKEN_NAME = 'ci-deploy';

let dataDir: string;
let port: number;
let baseUrl: string;
let env: NodeJS.ProcessEnv;
/** Every process started on this DATA_DIR, so the log checks see all of their output. */
const started: ServiceProcess[] = [];
let service: ServiceProcess;
let sessionJwt: string;
let tokenSecret: string;

async function startService(): Promise<ServiceProcess> {
  const child = startScript('src/server.ts', env);
  started.push(child);
  await waitUntilReady(child, baseUrl);
  return child;
}

async function post(
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

function allLogs(): string {
  return started.map((s) => `${s.stdout()}\n${s.stderr()}`).join('\n');
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'keymint-service-'));
  port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // No DATABASE_URL (embedded PGlite in DATA_DIR), no AUTH_JWT_SECRET (a generated dev secret).
  env = serviceEnv({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
  });
  service = await startService();

  // What `npm run session` runs, signing with the secret the service generated in DATA_DIR.
  sessionJwt = (
    await runScript('src/auth/session-cli.ts', ['--email', 'alice@example.com', '--permission', 'tools.*'], env)
  ).trim();
  const minted = await post(
    `mutation Mint($input: MintTokenInput!) {
      mintToken(input: $input) { __typename ... on MintTokenPayload { secret } ... on Error { message } }
    }`,
    { input: { name: TOKEN_NAME, expiresInDays: 30 } },
    bearer(sessionJwt),
  );
  expect(minted.body.data?.mintToken, JSON.stringify(minted.body)).toMatchObject({ __typename: 'MintTokenPayload' });
  tokenSecret = minted.body.data.mintToken.secret;
}, 120_000);

afterAll(async () => {
  for (const child of started) await killProcess(child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the service process', () => {
  it('answers /healthz with 200 once started', async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
  });

  it('answers /readyz with 200 and status ok while its database is up', async () => {
    const response = await fetch(`${baseUrl}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('refuses a GraphQL request without credentials with HTTP 401 and UNAUTHENTICATED', async () => {
    const response = await post('{ viewer { authMethod } }');
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.body.data ?? null).toBeNull();
  });

  it('refuses a session JWT that was not signed with its secret', async () => {
    const [header, payload] = sessionJwt.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    const response = await post('{ viewer { authMethod } }', {}, bearer(forged));
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('accepts the session JWT printed by the session CLI', async () => {
    const response = await post('{ viewer { email authMethod } }', {}, bearer(sessionJwt));
    expect(response.status).toBe(200);
    expect(response.body.data.viewer).toEqual({ email: 'alice@example.com', authMethod: 'SESSION' });
  });

  it('mints a km_ secret that authenticates as an API token', async () => {
    expect(tokenSecret).toMatch(/^km_/);
    const response = await post('{ viewer { authMethod } }', {}, bearer(tokenSecret));
    expect(response.status).toBe(200);
    expect(response.body.data.viewer.authMethod).toBe('API_TOKEN');
  });

  it('gives every response an x-request-id and echoes one the caller sends', async () => {
    const generated = await post('{ viewer { authMethod } }', {}, bearer(tokenSecret));
    expect(generated.headers.get('x-request-id')).toMatch(/\S/);

    const given = await post('{ viewer { authMethod } }', {}, { ...bearer(tokenSecret), 'x-request-id': 'my-req-1' });
    expect(given.headers.get('x-request-id')).toBe('my-req-1');
  });

  it('keeps its generated session secret in DATA_DIR, readable by its owner only', async () => {
    const file = path.join(dataDir, 'session-secret');
    expect((await readFile(file, 'utf8')).trim().length).toBeGreaterThanOrEqual(32);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o077).toBe(0);
  });

  it(
    'shuts down gracefully on SIGTERM and, restarted on the same DATA_DIR, keeps its tokens and its session secret',
    async () => {
      const before = service;
      before.child.kill('SIGTERM');
      const exit = await within(15_000, 'graceful shutdown after SIGTERM', before.exited);
      expect(exit, before.stderr()).toEqual({ code: 0, signal: null });
      expect(before.stdout()).toContain('"msg":"stopped"');

      service = await startService();

      // The session JWT signed before the restart still verifies: the secret was read back from DATA_DIR.
      const list = await post('{ tokens { totalCount edges { node { name } } } }', {}, bearer(sessionJwt));
      expect(list.status).toBe(200);
      expect(list.body.data.tokens.totalCount).toBe(1);
      expect(list.body.data.tokens.edges.map((edge: any) => edge.node.name)).toEqual([TOKEN_NAME]);

      const viaToken = await post('{ viewer { authMethod } }', {}, bearer(tokenSecret));
      expect(viaToken.body.data?.viewer?.authMethod).toBe('API_TOKEN');
    },
    120_000,
  );

  it('writes its logs as JSON lines', () => {
    const lines = started.flatMap((s) => s.stdout().split('\n')).filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.startsWith('{'), `not a JSON log line: ${line}`).toBe(true);
      const entry = JSON.parse(line);
      expect(entry).toMatchObject({ service: 'keymint', level: expect.any(Number), msg: expect.any(String) });
    }
    expect(lines.some((line) => line.includes('Keymint listening'))).toBe(true);
  });

  it('never writes the minted secret, the session JWT or the session secret to its output', async () => {
    const logs = allLogs();
    const sessionSecret = (await readFile(path.join(dataDir, 'session-secret'), 'utf8')).trim();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(tokenSecret);
    expect(logs).not.toContain(sessionJwt);
    // The JWT's signature alone identifies it too.
    expect(logs).not.toContain(sessionJwt.split('.')[2]!);
    expect(logs).not.toContain(sessionSecret);
  });
});

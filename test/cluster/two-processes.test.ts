import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../src/auth/session-signer.js';
import { killProcess, serviceEnv, startScript, waitUntilReady, type ServiceProcess } from '../service/service-process.js';
import { freePort } from '../support/free-port.js';
import { until } from '../support/until.js';
import { startPrivateRedis, type PrivateRedis } from './redis-server.js';

/**
 * The proof of scale-out: two Keymint processes over one PostgreSQL database, sharing a
 * redis-server of the test's own. Needs a server database, so it runs when TEST_DATABASE_URL is set.
 */
const serverUrl = process.env.TEST_DATABASE_URL;
const SECRET = 'two-processes-session-secret-long-enough-for-hs256';

interface Instance {
  process: ServiceProcess;
  url: string;
}

let redis: PrivateRedis;
let database: { name: string; url: string };
let dataDir: string;
let a: Instance;
let b: Instance;

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startScript('src/server.ts', serviceEnv({ ...env, PORT: String(port) }));
  await waitUntilReady(child, url);
  return { process: child, url };
}

async function gql(instance: Instance, query: string, variables: Record<string, unknown>, bearer: string) {
  const response = await fetch(`${instance.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as any;
}

async function verify(instance: Instance, caller: string, token: string): Promise<string> {
  const response = await fetch(`${instance.url}/v1/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${caller}` },
    body: JSON.stringify({ token }),
  });
  return ((await response.json()) as { outcome: string }).outcome;
}

async function readyz(instance: Instance) {
  const response = await fetch(`${instance.url}/readyz`);
  return { httpStatus: response.status, ...((await response.json()) as { status: string; redis: string; degraded: boolean; database: string }) };
}

const MINT = `mutation($input: MintTokenInput!) { mintToken(input: $input) {
  __typename ... on MintTokenPayload { secret token { id } } ... on Error { message } } }`;

describe.runIf(serverUrl)('two Keymint processes, one PostgreSQL, one Redis', () => {
  let owner: string;
  let caller: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const name = `keymint_test_cluster_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    const url = new URL(serverUrl!);
    url.pathname = `/${name}`;
    database = { name, url: url.toString() };
    dataDir = await mkdtemp(path.join(tmpdir(), 'keymint-cluster-'));
    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      AUTH_JWT_SECRET: SECRET,
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DATA_DIR: dataDir,
    };
    // Both start at once: the migrations' advisory lock lets one migrate while the other waits.
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    await until(async () => (await readyz(a)).redis === 'up' && (await readyz(b)).redis === 'up', 10_000);

    owner = await signSession(SECRET, { subject: 'cluster|owner', email: 'owner@example.com', permissions: ['tools.*', 'tokens.*'] });
    const minted = await gql(a, MINT, { input: { name: 'gateway', permissions: ['tokens.verify'], expiresInDays: 30 } }, owner);
    caller = minted.data.mintToken.secret;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([killProcess(a?.process), killProcess(b?.process)]);
    await redis?.stop();
    if (database) {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`drop database if exists "${database.name}" with (force)`);
      await admin.end();
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a token verified (and cached) on B is REVOKED on B soon after it is revoked on A', async () => {
    const minted = await gql(a, MINT, { input: { name: 'to revoke', expiresInDays: 30 } }, owner);
    const { secret, token } = minted.data.mintToken;
    expect(await verify(b, caller, secret)).toBe('VALID');
    expect(await verify(b, caller, secret)).toBe('VALID');
    await gql(a, `mutation($id: ID!) { revokeToken(input: { id: $id }) { __typename } }`, { id: token.id }, owner);
    // Generous here; bench/ measures the real figure.
    await until(async () => (await verify(b, caller, secret)) === 'REVOKED', 2_000);
  });

  it('a limit of 10 per minute gives exactly 10 VALID across both under 50 concurrent verifications', async () => {
    const minted = await gql(a, MINT, { input: { name: 'limited', expiresInDays: 30, usageLimits: { requestsPerMinute: 10 } } }, owner);
    const secret = minted.data.mintToken.secret;
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => verify(i % 2 ? a : b, caller, secret)));
    expect(outcomes.filter((o) => o === 'VALID')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'RATE_LIMITED')).toHaveLength(40);
  });

  it('killing Redis degrades both instances without a crash, and they recover when it returns', async () => {
    const minted = await gql(a, MINT, { input: { name: 'outage', expiresInDays: 30 } }, owner);
    const secret = minted.data.mintToken.secret;
    await redis.stop();
    await until(async () => (await readyz(a)).degraded === true && (await readyz(b)).degraded === true, 10_000);
    expect(await readyz(a)).toMatchObject({ httpStatus: 200, status: 'degraded', database: 'up', redis: 'unreachable' });
    expect(await verify(a, caller, secret)).toBe('VALID');
    expect(await verify(b, caller, secret)).toBe('VALID');
    expect(a.process.exit()).toBeNull();
    expect(b.process.exit()).toBeNull();

    await redis.start();
    await until(async () => (await readyz(a)).degraded === false && (await readyz(b)).degraded === false, 15_000);
    expect(await readyz(b)).toMatchObject({ httpStatus: 200, status: 'ok', redis: 'up' });
  }, 60_000);
});

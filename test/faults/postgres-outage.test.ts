import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config, type Env } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createOrm, type DatabaseTarget } from '../../src/db/orm.js';
import { migrate } from '../../src/db/migrate.js';
import { isDatabaseUnavailable } from '../../src/db/availability.js';
import { signSession } from '../../src/auth/session-signer.js';
import { generateSecret } from '../../src/modules/token/token.secret.js';
import { dbId, MINT, TEST_SECRET } from '../harness.js';
import { postgresBinaries, startPostgresServer, type PostgresServer } from '../support/postgres-server.js';

/**
 * A PostgreSQL outage under load, on a PostgreSQL server this file owns (the machine's binaries,
 * its own data directory and port), stopped and started again while requests keep coming:
 *
 * - GraphQL answers SERVICE_UNAVAILABLE, HTTP 503 with Retry-After; the REST routes 503 with a
 *   JSON error; never a 500, never a hang;
 * - a token verified just before keeps verifying from the cache, past its TTL, for the stale
 *   window; one never verified does not; a revocation event still drops a cached entry;
 * - everything recovers without a restart of Keymint, and nothing is half-written: every token
 *   has its TOKEN_MINTED audit event, every mint seen to succeed exists, and the usage events
 *   buffered during the outage reach the database.
 *
 * The verification cache TTL is 500 ms, so it runs out during the outage and only the stale
 * window (20 s) keeps cached tokens valid. Then the same with the stale window off, and, through a
 * proxy that cuts a connection as it sends BEGIN, the moment of a stop that the load only hits now
 * and then: a transaction that loses its connection as it begins.
 */

const BINARIES = postgresBinaries();
const SKIP_REASON = 'skipped: no PostgreSQL binaries (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin';
if (!BINARIES) console.warn(`test/faults/postgres-outage.test.ts ${SKIP_REASON}`);

const CACHE_TTL_MS = 500;
const STALE_MS = 20_000;
const REQUEST_TIMEOUT_MS = 20_000;
const RECOVERY_TIMEOUT_MS = 15_000;
const LOAD_ENDPOINT = '/outage-load';

interface Reply {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

interface OutageApp {
  app: App;
  orm: MikroORM;
  config: Config;
  baseUrl: string;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<Reply>;
  post(path: string, body: unknown, token?: string, contentType?: string): Promise<Reply>;
  get(path: string): Promise<Reply>;
  session(permissions: string[]): Promise<string>;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** As test/harness.ts builds a Keymint, but on a database of the private server. */
async function buildApp(url: string, env: Partial<Env> = {}): Promise<OutageApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_JWT_SECRET: TEST_SECRET,
    VERIFY_CACHE_TTL_MS: String(CACHE_TTL_MS),
    VERIFY_STALE_IF_ERROR_MS: String(STALE_MS),
    // The load mints far more than the default 60 a minute.
    RATE_LIMIT_MINTS_PER_MINUTE: '1000000',
    RATE_LIMIT_CHANGES_PER_MINUTE: '1000000',
    USAGE_FLUSH_INTERVAL_MS: '200',
    ...env,
  });
  const target: DatabaseTarget = { kind: 'server', url, poolMax: 5, statementTimeoutMs: config.statementTimeoutMs };
  const orm = await createOrm(target);
  await migrate(orm, target);
  const app = createApp({ config, orm, logger: createLogger(config), sessionSecret: config.auth.jwtSecret });
  const server: Server = createServer(app.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const reply = async (response: Promise<Response>, startedAt: number): Promise<Reply> => {
    const answered = await response;
    const body = parse(await answered.text());
    return { status: answered.status, headers: answered.headers, body, ms: performance.now() - startedAt };
  };

  return {
    app,
    orm,
    config,
    baseUrl,
    gql(query, variables = {}, token) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const startedAt = performance.now();
      return reply(
        Promise.resolve(
          app.yoga.fetch('http://keymint.test/graphql', {
            method: 'POST',
            headers,
            body: JSON.stringify({ query, variables }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          }),
        ),
        startedAt,
      );
    },
    post(path, body, token, contentType = 'application/json') {
      const headers: Record<string, string> = { 'content-type': contentType };
      if (token) headers.authorization = `Bearer ${token}`;
      const startedAt = performance.now();
      return reply(
        fetch(`${baseUrl}${path}`, {
          method: 'POST',
          headers,
          body: typeof body === 'string' ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        }),
        startedAt,
      );
    },
    get(path) {
      const startedAt = performance.now();
      return reply(Promise.resolve(app.yoga.fetch(`http://keymint.test${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })), startedAt);
    },
    session(permissions) {
      const id = randomUUID();
      return signSession(TEST_SECRET, { subject: `test|${id}`, email: `user-${id}@example.com`, permissions });
    },
    sql<T>(query: string, params: unknown[] = []) {
      return orm.em.getConnection().execute(query, params) as Promise<T[]>;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await app.close().catch(() => undefined);
      await orm.close(true);
    },
  };
}

async function mint(k: OutageApp, jwt: string, name: string, permissions = ['tools.read']): Promise<{ secret: string; id: string }> {
  const response = await k.gql(MINT, { input: { name, permissions, expiresInDays: 30 } }, jwt);
  const payload = response.body?.data?.mintToken;
  if (payload?.__typename !== 'MintTokenPayload') throw new Error(`mint ${name}: ${response.status} ${JSON.stringify(response.body)}`);
  return { secret: payload.secret, id: payload.token.id };
}

/** A resource server: a user holding tokens.verify and an API token naming it. */
async function resourceServer(k: OutageApp): Promise<string> {
  const jwt = await k.session(['tokens.verify']);
  return (await mint(k, jwt, 'resource server', ['tokens.verify'])).secret;
}

/** The load's verifications say they are for LOAD_ENDPOINT, every other one for /probe: their usage events can be told apart. */
const verifyBody = (token: string, endpoint = '/probe') => ({ token, requiredPermissions: ['tools.read'], endpoint, method: 'GET' });

/** What a typed outage answer from GraphQL looks like; the reason it is not one, or null. */
function notTypedGraphQL503(reply: Reply): string | null {
  const error = reply.body?.errors?.[0];
  if (reply.status !== 503) return `status ${reply.status}`;
  if (!reply.headers.get('retry-after')) return 'no retry-after header';
  if (error?.extensions?.code !== 'SERVICE_UNAVAILABLE') return `code ${String(error?.extensions?.code)}`;
  if (error?.message === 'Unexpected error.') return 'masked as "Unexpected error."';
  return null;
}

/** The same for the REST routes: 503, Retry-After and a JSON error. */
function notTypedRest503(reply: Reply): string | null {
  if (reply.status !== 503) return `status ${reply.status}`;
  if (!reply.headers.get('retry-after')) return 'no retry-after header';
  if (!(reply.headers.get('content-type') ?? '').includes('application/json')) return `content-type ${reply.headers.get('content-type')}`;
  if (reply.body?.error !== 'SERVICE_UNAVAILABLE') return `body ${JSON.stringify(reply.body)}`;
  return null;
}

/**
 * A TCP proxy in front of the private server that can cut a connection at the moment it sends
 * BEGIN: what a server restart or a dropped link does to a transaction that is just starting,
 * made deterministic.
 */
interface CuttingProxy {
  port: number;
  /** Cuts the connection of the next `count` BEGINs instead of forwarding them. */
  cutNextBegins(count: number): void;
  /** How many connections were cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** A simple-protocol Query message ('Q', an int32 length, the SQL text) that starts a transaction. */
function isBegin(chunk: Buffer): boolean {
  return chunk[0] === 0x51 && /^\s*begin\b/i.test(chunk.subarray(5).toString('utf8'));
}

async function startCuttingProxy(targetPort: number): Promise<CuttingProxy> {
  let armed = 0;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (armed > 0 && isBegin(chunk)) {
        armed -= 1;
        cuts += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cutNextBegins(count) {
      armed = count;
    },
    get cuts() {
      return cuts;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const describeWithPostgres = describe.skipIf(!BINARIES);

describeWithPostgres(`PostgreSQL outage under load (${BINARIES ? `PostgreSQL from ${BINARIES}` : SKIP_REASON})`, () => {
  let pg: PostgresServer;

  beforeAll(async () => {
    pg = await startPostgresServer();
  }, 120_000);
  afterAll(async () => {
    await pg?.destroy();
  }, 120_000);

  describe('with the stale window on (VERIFY_STALE_IF_ERROR_MS=20000)', () => {
    type Phase = 'before' | 'stopping' | 'down' | 'starting' | 'up';
    type LoopName = 'verify A' | 'introspect A' | 'verify unknown' | 'viewer (session)' | 'viewer (API token)' | 'mint';
    interface Observation {
      loop: LoopName;
      /** The phase when the request was sent and when its answer came. */
      sent: Phase;
      answered: Phase;
      status: number | 'no answer';
      reply?: Reply;
      error?: string;
    }

    let k: OutageApp;
    let ownerJwt: string;
    let rsToken: string;
    let tokenA: { secret: string; id: string };
    let tokenB: { secret: string; id: string };
    let tokenC: { secret: string; id: string };

    let phase: Phase = 'before';
    const observations: Observation[] = [];
    /** Mints whose answer was a MintTokenPayload, and those whose answer was anything else. */
    const mintedOk: { name: string; id: string }[] = [];
    const mintedUnsure: string[] = [];
    /** Probes sent while the server was down, by what they were. */
    const probes: Record<string, Reply> = {};
    const probeErrors: string[] = [];
    let recovery: Record<string, { ok: boolean; ms: number; last?: Reply; error?: string }> = {};
    let downForMs = 0;

    beforeAll(async () => {
      const url = await pg.createDatabase('keymint_outage');
      k = await buildApp(url);
      ownerJwt = await k.session(['tools.*']);
      rsToken = await resourceServer(k);
      tokenA = await mint(k, ownerJwt, 'token A');
      tokenB = await mint(k, ownerJwt, 'token B');
      tokenC = await mint(k, ownerJwt, 'token C');
      // A and C are verified (and so cached), and the resource server's own token with them; B never is.
      for (const token of [tokenA, tokenC]) {
        const verified = await k.post('/v1/verify', verifyBody(token.secret), rsToken);
        if (verified.status !== 200 || verified.body.valid !== true) throw new Error(`seed verification: ${JSON.stringify(verified.body)}`);
      }

      // The load: a few loops, each recording every answer with the phase it was sent and answered in.
      let running = true;
      const loop = async (name: LoopName, send: (i: number) => Promise<Reply>, onReply?: (reply: Reply, i: number) => void) => {
        for (let i = 0; running; i++) {
          const sent = phase;
          try {
            const reply = await send(i);
            observations.push({ loop: name, sent, answered: phase, status: reply.status, reply });
            onReply?.(reply, i);
          } catch (error) {
            observations.push({ loop: name, sent, answered: phase, status: 'no answer', error: String(error) });
          }
          await sleep(5);
        }
      };
      const loadId = randomUUID().slice(0, 8);
      const loops = [
        loop('verify A', () => k.post('/v1/verify', verifyBody(tokenA.secret, LOAD_ENDPOINT), rsToken)),
        loop('verify A', () => k.post('/v1/verify', verifyBody(tokenA.secret, LOAD_ENDPOINT), rsToken)),
        // A new well-formed secret each time, never cached: the database must answer (NOT_FOUND) or it is a 503.
        loop('verify unknown', () => k.post('/v1/verify', verifyBody(generateSecret(k.config.tokens.prefix).secret), rsToken)),
        loop('introspect A', () => k.post('/oauth/introspect', `token=${tokenA.secret}`, rsToken, 'application/x-www-form-urlencoded')),
        loop('viewer (session)', () => k.gql('{ viewer { id } }', {}, ownerJwt)),
        loop('viewer (API token)', () => k.gql('{ viewer { id } }', {}, rsToken)),
        loop(
          'mint',
          (i) => k.gql(MINT, { input: { name: `outage-load-${loadId}-${i}`, permissions: ['tools.read'], expiresInDays: 30 } }, ownerJwt),
          (reply, i) => {
            const payload = reply.body?.data?.mintToken;
            if (payload?.__typename === 'MintTokenPayload') mintedOk.push({ name: `outage-load-${loadId}-${i}`, id: payload.token.id });
            else mintedUnsure.push(`outage-load-${loadId}-${i}`);
          },
        ),
      ];

      try {
        await sleep(800);
        phase = 'stopping';
        await pg.stop('fast');
        phase = 'down';
        const downAt = performance.now();
        // Past the cache TTL of everything verified before the stop, well inside the stale window.
        await sleep(CACHE_TTL_MS + 500);

        const probe = async (name: string, send: () => Promise<Reply>) => {
          try {
            probes[name] = await send();
          } catch (error) {
            probeErrors.push(`${name}: ${String(error)}`);
          }
        };
        await probe('graphql viewer', () => k.gql('{ viewer { id email } }', {}, ownerJwt));
        await probe('graphql mint', () => k.gql(MINT, { input: { name: `outage-probe-${loadId}`, permissions: ['tools.read'], expiresInDays: 30 } }, ownerJwt));
        await probe('verify B', () => k.post('/v1/verify', verifyBody(tokenB.secret), rsToken));
        await probe('verify A', () => k.post('/v1/verify', verifyBody(tokenA.secret), rsToken));
        await probe('introspect B', () => k.post('/oauth/introspect', `token=${tokenB.secret}`, rsToken, 'application/x-www-form-urlencoded'));
        await probe('introspect A', () => k.post('/oauth/introspect', `token=${tokenA.secret}`, rsToken, 'application/x-www-form-urlencoded'));
        await probe('readyz', () => k.get('/readyz'));
        // C was verified once, before the stop: it rides the outage on the stale entry, until a
        // revocation event (as another instance would publish it through Redis) drops the entry.
        await probe('verify C before the event', () => k.post('/v1/verify', verifyBody(tokenC.secret), rsToken));
        k.app.bus.publish({ type: 'REVOKED', tokenId: dbId(tokenC.id), prefix: tokenC.secret.slice(0, 12), at: new Date() });
        await probe('verify C after the event', () => k.post('/v1/verify', verifyBody(tokenC.secret), rsToken));

        // Keep the load going through a few seconds of outage.
        const left = 3_000 - (performance.now() - downAt);
        if (left > 0) await sleep(left);
        downForMs = performance.now() - downAt;
        phase = 'starting';
        await pg.start();
        phase = 'up';

        // Recovery, without restarting Keymint: each check polled within one deadline.
        const recoveredAt = performance.now();
        const until = async (name: string, send: () => Promise<Reply>, ok: (reply: Reply) => boolean) => {
          let last: Reply | undefined;
          let error: string | undefined;
          while (performance.now() - recoveredAt < RECOVERY_TIMEOUT_MS) {
            try {
              last = await send();
              error = undefined;
              if (ok(last)) {
                recovery[name] = { ok: true, ms: performance.now() - recoveredAt, last };
                return;
              }
            } catch (caught) {
              error = String(caught);
            }
            await sleep(200);
          }
          recovery[name] = { ok: false, ms: performance.now() - recoveredAt, last, error };
        };
        recovery = {};
        await until('graphql viewer', () => k.gql('{ viewer { id } }', {}, ownerJwt), (r) => r.status === 200 && typeof r.body?.data?.viewer?.id === 'string');
        await until('verify B', () => k.post('/v1/verify', verifyBody(tokenB.secret), rsToken), (r) => r.status === 200 && r.body?.valid === true);
        await until(
          'mint',
          () => k.gql(MINT, { input: { name: `outage-after-${loadId}`, permissions: ['tools.read'], expiresInDays: 30 } }, ownerJwt),
          (r) => r.status === 200 && r.body?.data?.mintToken?.__typename === 'MintTokenPayload',
        );
        await until('readyz', () => k.get('/readyz'), (r) => r.status === 200);
        // The load runs on a little while after recovery.
        await sleep(500);
      } finally {
        running = false;
        await Promise.all(loops);
        phase = 'up';
        if (!pg.isRunning()) await pg.start();
      }
    }, 120_000);

    afterAll(async () => {
      await k?.close();
    }, 60_000);

    const seen = (loop: LoopName, sent: Phase) => observations.filter((o) => o.loop === loop && o.sent === sent);
    /** Sent after the stop completed, answered before the start began: the server was certainly down. */
    const whileDown = (loop: LoopName) => observations.filter((o) => o.loop === loop && o.sent === 'down' && o.answered === 'down');
    const describeObservation = (o: Observation) =>
      `${o.loop} sent ${o.sent}, answered ${o.answered}: ${o.status} ${o.error ?? JSON.stringify(o.reply?.body)?.slice(0, 300)}`;

    it('ran load through every phase, with a real outage of a few seconds', () => {
      expect(probeErrors).toEqual([]);
      expect(downForMs).toBeGreaterThanOrEqual(2_500);
      for (const loop of ['verify A', 'introspect A', 'verify unknown', 'viewer (session)', 'viewer (API token)', 'mint'] as const) {
        expect(seen(loop, 'before').length, `${loop} before the stop`).toBeGreaterThan(0);
        expect(whileDown(loop).length, `${loop} while down`).toBeGreaterThan(0);
        expect(seen(loop, 'up').length, `${loop} after the restart`).toBeGreaterThan(0);
      }
    });

    it('never answers anything but 200 or 503 (no 500, no hang), whatever the phase', () => {
      const odd = observations.filter((o) => o.status !== 200 && o.status !== 503);
      expect(odd.map(describeObservation)).toEqual([]);
      expect(new Set(observations.map((o) => o.status))).toEqual(new Set([200, 503]));
      // No request waits on the dead server for long: the pool gives up within its 5 s connect timeout.
      const slow = observations.filter((o) => o.reply && o.reply.ms > 10_000);
      expect(slow.map((o) => `${Math.round(o.reply!.ms)} ms: ${describeObservation(o)}`)).toEqual([]);
    });

    it('answers every failed GraphQL request with SERVICE_UNAVAILABLE, 503 and Retry-After', () => {
      const graphql = observations.filter((o) => o.reply && (o.loop.startsWith('viewer') || o.loop === 'mint'));
      const failed = graphql.filter((o) => o.status !== 200 || o.reply!.body?.errors);
      expect(failed.length).toBeGreaterThan(0);
      const untyped = failed.filter((o) => notTypedGraphQL503(o.reply!) !== null);
      expect(untyped.map((o) => `${notTypedGraphQL503(o.reply!)}: ${describeObservation(o)}`)).toEqual([]);
      // And every 200 is a real answer, without errors.
      const okWithErrors = graphql.filter((o) => o.status === 200 && o.reply!.body?.errors);
      expect(okWithErrors.map(describeObservation)).toEqual([]);
    });

    it('fails session requests and mints while the server is down, typed', () => {
      for (const loop of ['viewer (session)', 'mint'] as const) {
        const down = whileDown(loop);
        expect(down.filter((o) => o.status !== 503).map(describeObservation), loop).toEqual([]);
      }
      expect(notTypedGraphQL503(probes['graphql viewer']!)).toBeNull();
      expect(notTypedGraphQL503(probes['graphql mint']!)).toBeNull();
    });

    it('answers every failed REST request with a JSON SERVICE_UNAVAILABLE, 503 and Retry-After', () => {
      const rest = observations.filter((o) => o.reply && ['verify A', 'introspect A', 'verify unknown'].includes(o.loop));
      const failed = rest.filter((o) => o.status !== 200);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.filter((o) => notTypedRest503(o.reply!) !== null).map(describeObservation)).toEqual([]);
      // An unknown token is NOT_FOUND while the database answers, and unavailable while it is down.
      const unknown = observations.filter((o) => o.loop === 'verify unknown');
      expect(unknown.filter((o) => o.status === 200 && o.reply!.body.outcome !== 'NOT_FOUND').map(describeObservation)).toEqual([]);
      expect(whileDown('verify unknown').filter((o) => o.status !== 503).map(describeObservation)).toEqual([]);
    });

    it('answers /v1/verify and /oauth/introspect of a never-verified token with 503 JSON', () => {
      expect(notTypedRest503(probes['verify B']!), JSON.stringify(probes['verify B']?.body)).toBeNull();
      expect(probes['verify B']!.body.message).toEqual(expect.any(String));
      expect(notTypedRest503(probes['introspect B']!), JSON.stringify(probes['introspect B']?.body)).toBeNull();
    });

    it('keeps verifying a recently verified token from the cache, past its TTL, inside the stale window', () => {
      expect(probes['verify A']!.status).toBe(200);
      expect(probes['verify A']!.body).toMatchObject({ valid: true, outcome: 'VALID', tokenId: tokenA.id });
      expect(probes['introspect A']!.status).toBe(200);
      expect(probes['introspect A']!.body).toMatchObject({ active: true, client_id: tokenA.id });
      // Through every phase: stopping, down, starting, up.
      const verifyA = observations.filter((o) => o.loop === 'verify A' || o.loop === 'introspect A');
      const notValid = verifyA.filter((o) => o.status !== 200 || (o.loop === 'verify A' ? o.reply!.body.valid !== true : o.reply!.body.active !== true));
      expect(notValid.map(describeObservation)).toEqual([]);
      expect(whileDown('verify A').length).toBeGreaterThan(0);
    });

    it('still drops a cached entry on a revocation event while the database is down', () => {
      expect(probes['verify C before the event']!.status).toBe(200);
      expect(probes['verify C before the event']!.body.valid).toBe(true);
      // The stale entry is gone and the database cannot say: unavailable, not valid.
      expect(notTypedRest503(probes['verify C after the event']!), JSON.stringify(probes['verify C after the event']?.body)).toBeNull();
    });

    it('reports not ready while down, and ready again after the restart', () => {
      expect(probes['readyz']!.status).toBe(503);
      expect(probes['readyz']!.body).toMatchObject({ status: 'unavailable', database: 'unreachable' });
      expect(recovery['readyz'], JSON.stringify(recovery['readyz'])).toMatchObject({ ok: true });
    });

    it('recovers without a restart: GraphQL, verification of an uncached token and minting work again', () => {
      for (const name of ['graphql viewer', 'verify B', 'mint']) {
        const result = recovery[name];
        expect(result?.ok, `${name} did not recover within ${RECOVERY_TIMEOUT_MS} ms: ${JSON.stringify(result)}`).toBe(true);
      }
      // And the load loops saw it too.
      for (const loop of ['viewer (session)', 'mint'] as const) {
        const after = observations.filter((o) => o.loop === loop && o.sent === 'up');
        expect(after.at(-1)?.status, `${loop}: ${after.at(-1) && describeObservation(after.at(-1)!)}`).toBe(200);
      }
    });

    it('left nothing half-written: every token has exactly one TOKEN_MINTED event, every acknowledged mint exists', async () => {
      const withoutMintEvent = await k.sql<{ n: number }>(
        `select count(*)::int as n from tokens t where not exists (select 1 from audit_events a where a.token_id = t.id and a.action = 'TOKEN_MINTED')`,
      );
      expect(withoutMintEvent[0]!.n).toBe(0);
      const doubled = await k.sql(`select token_id, count(*)::int as n from audit_events where action = 'TOKEN_MINTED' group by token_id having count(*) <> 1`);
      expect(doubled).toEqual([]);
      const orphanEvents = await k.sql<{ n: number }>(
        `select count(*)::int as n from audit_events a where a.action = 'TOKEN_MINTED' and not exists (select 1 from tokens t where t.id = a.token_id)`,
      );
      expect(orphanEvents[0]!.n).toBe(0);

      const rows = await k.sql<{ id: string; name: string }>(`select id, name from tokens where name like 'outage-load-%'`);
      const stored = new Map(rows.map((row) => [row.name, row.id]));
      expect(mintedOk.length).toBeGreaterThan(0);
      for (const minted of mintedOk) expect(stored.get(minted.name), minted.name).toBe(dbId(minted.id));
      // A mint that failed may or may not have committed (its answer may have been lost), but no more than that.
      const unsure = new Set(mintedUnsure);
      for (const name of stored.keys()) {
        if (!mintedOk.some((m) => m.name === name)) expect(unsure.has(name), `${name} stored but never attempted`).toBe(true);
      }
      // The probe sent while the server was certainly down did not commit.
      expect(await k.sql(`select id from tokens where name like 'outage-probe-%'`)).toEqual([]);
    });

    it('writes the usage events buffered during the outage once the database is back', async () => {
      const validOfA = observations.filter((o) => o.loop === 'verify A' && o.status === 200 && o.reply!.body.valid === true);
      const validWhileDown = validOfA.filter((o) => o.sent === 'down' && o.answered === 'down');
      expect(validWhileDown.length).toBeGreaterThan(0);
      // Requests whose answer was lost may still have been recorded: at most that many more.
      const unanswered = observations.filter((o) => o.loop === 'verify A' && o.status === 'no answer').length;

      const count = async () =>
        (
          await k.sql<{ n: number }>(`select count(*)::int as n from usage_events where token_id = ? and endpoint = ? and outcome = 'VALID'`, [
            dbId(tokenA.id),
            LOAD_ENDPOINT,
          ])
        )[0]!.n;
      let stored = 0;
      const deadline = performance.now() + 10_000;
      // The recorder retries on its own; flush() hurries it. A first flush may still meet a dead pooled connection.
      while (performance.now() < deadline) {
        await k.app.usage.flush();
        stored = await count();
        if (stored >= validOfA.length && k.app.usage.pending === 0) break;
        await sleep(200);
      }
      expect(stored).toBeGreaterThanOrEqual(validOfA.length);
      expect(stored).toBeLessThanOrEqual(validOfA.length + unanswered);
      expect(k.app.usage.dropped).toBe(0);
    });
  });

  describe('with the stale window off (VERIFY_STALE_IF_ERROR_MS=0)', () => {
    let k: OutageApp;
    let rsToken: string;
    let tokenD: { secret: string; id: string };
    let verifyD: Reply | undefined;
    let direct: unknown;
    let recovered: Reply | undefined;

    beforeAll(async () => {
      if (!pg.isRunning()) await pg.start();
      const url = await pg.createDatabase('keymint_no_stale');
      k = await buildApp(url, { VERIFY_STALE_IF_ERROR_MS: '0' });
      const ownerJwt = await k.session(['tools.*']);
      rsToken = await resourceServer(k);
      tokenD = await mint(k, ownerJwt, 'token D');
      const first = await k.post('/v1/verify', verifyBody(tokenD.secret), rsToken);
      if (first.status !== 200 || first.body.valid !== true) throw new Error(`seed verification: ${JSON.stringify(first.body)}`);
      try {
        await pg.stop('fast');
        // Past the TTL: with no stale window, nothing is left to answer from.
        await sleep(CACHE_TTL_MS + 500);
        verifyD = await k.post('/v1/verify', verifyBody(tokenD.secret), rsToken);
        direct = await k.app.verifier.verify(tokenD.secret, { requiredPermissions: ['tools.read'] }).then(
          (verification) => ({ resolved: verification }),
          (error: unknown) => ({ rejected: error }),
        );
      } finally {
        await pg.start();
      }
      const deadline = performance.now() + RECOVERY_TIMEOUT_MS;
      while (performance.now() < deadline) {
        recovered = await k.post('/v1/verify', verifyBody(tokenD.secret), rsToken).catch(() => undefined);
        if (recovered?.status === 200) break;
        await sleep(200);
      }
    }, 120_000);

    afterAll(async () => {
      await k?.close();
    }, 60_000);

    it('answers a cached-then-expired token with 503 during the outage', () => {
      expect(notTypedRest503(verifyD!), `${verifyD?.status} ${JSON.stringify(verifyD?.body)}`).toBeNull();
      // The token's own lookup fails (not only the resource server's authentication): no stale answer.
      expect(direct).toHaveProperty('rejected');
      expect(isDatabaseUnavailable((direct as { rejected: unknown }).rejected)).toBe(true);
    });

    it('verifies it again once the server is back', () => {
      expect(recovered?.status).toBe(200);
      expect(recovered?.body).toMatchObject({ valid: true, tokenId: tokenD.id });
    });
  });
  describe('when the connection dies as a transaction begins', () => {
    let proxy: CuttingProxy;
    let k: OutageApp;
    let ownerJwt: string;

    beforeAll(async () => {
      if (!pg.isRunning()) await pg.start();
      await pg.createDatabase('keymint_cut');
      proxy = await startCuttingProxy(pg.port);
      k = await buildApp(`postgres://postgres@127.0.0.1:${proxy.port}/keymint_cut`);
      ownerJwt = await k.session(['tools.*']);
      // The owner exists before anything is cut: their next requests only read it.
      const viewer = await k.gql('{ viewer { id } }', {}, ownerJwt);
      if (viewer.status !== 200) throw new Error(JSON.stringify(viewer.body));
    }, 120_000);

    afterAll(async () => {
      await k?.close();
      await proxy?.close();
    }, 60_000);

    it('answers a mint whose transaction lost its connection at BEGIN with a typed 503, and commits nothing', async () => {
      const name = `cut-${randomUUID().slice(0, 8)}`;
      const cutsBefore = proxy.cuts;
      proxy.cutNextBegins(1);
      const response = await k.gql(MINT, { input: { name, permissions: ['tools.read'], expiresInDays: 30 } }, ownerJwt);
      proxy.cutNextBegins(0);
      expect(proxy.cuts, 'the mint began a transaction').toBe(cutsBefore + 1);
      expect(notTypedGraphQL503(response), `${response.status} ${JSON.stringify(response.body)}`).toBeNull();
      expect(await k.sql('select id from tokens where name = ?', [name])).toEqual([]);
      // And the next one works.
      await expect(mint(k, ownerJwt, `${name}-again`)).resolves.toMatchObject({ secret: expect.any(String) });
    });

    it('keeps a usage event whose flush lost its connection at BEGIN, and writes it at the next flush', async () => {
      const token = await mint(k, ownerJwt, `cut-usage-${randomUUID().slice(0, 8)}`);
      await k.app.usage.flush();
      const droppedBefore = k.app.usage.dropped;
      const cutsBefore = proxy.cuts;
      proxy.cutNextBegins(1);
      // One event, straight through the verifier: a flush of exactly that event.
      const verification = await k.app.verifier.verify(token.secret, { endpoint: '/cut', method: 'GET' });
      expect(verification.valid).toBe(true);
      await k.app.usage.flush();
      proxy.cutNextBegins(0);
      expect(proxy.cuts, 'the flush began a transaction').toBe(cutsBefore + 1);
      await k.app.usage.flush();
      expect(k.app.usage.dropped, 'usage events dropped').toBe(droppedBefore);
      expect(await k.sql('select id from usage_events where id = ?', [verification.verificationId])).toHaveLength(1);
    });
  });
});

import { generateSecret } from '../../src/modules/token/token.secret.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { signSession } from '../../src/auth/session-signer.js';
import { createTestApp, MINT, TEST_SECRET, type TestApp } from '../harness.js';
import { captureLogs, type CapturedLogs } from './captured-logs.js';

/**
 * What the HTTP layer does around the schema: probes, masking of unexpected failures, request ids
 * in responses and logs, credentials kept out of the logs, CSRF prevention and GraphiQL. All
 * in-process through yoga.fetch.
 */

const URL_BASE = 'http://keymint.test';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

/** A second app on the shared database, with its own logger captured in memory. */
function appWithLogs(logLevel: 'debug' | 'trace' | 'info'): { app: App; logs: CapturedLogs } {
  const logs = captureLogs(logLevel);
  const app = createApp({
    config: { ...t.config, logLevel },
    orm: t.orm,
    logger: logs.logger,
    sessionSecret: TEST_SECRET,
  });
  return { app, logs };
}

async function postJson(app: App, query: string, headers: Record<string, string> = {}, variables = {}) {
  const response = await app.yoga.fetch(`${URL_BASE}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describe('/readyz', () => {
  it('answers 200 with status ok while the database answers', async () => {
    const response = await t.app.yoga.fetch(`${URL_BASE}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'up', redis: 'not configured', degraded: false });
  });

  it('answers /healthz with 200 without asking the database', async () => {
    const response = await t.app.yoga.fetch(`${URL_BASE}/healthz`);
    expect(response.status).toBe(200);
  });
});

describe('when the database is gone', () => {
  // Its own app, database and ORM, closed before the tests: the shared one stays usable.
  let down: TestApp;
  let app: App;
  let logs: CapturedLogs;
  let jwt: string;

  beforeAll(async () => {
    down = await createTestApp();
    logs = captureLogs('info');
    app = createApp({ config: down.config, orm: down.orm, logger: logs.logger, sessionSecret: TEST_SECRET });
    jwt = (await down.user({ permissions: ['tools.*'] })).jwt;
    await down.orm.close(true);
  });
  afterAll(async () => down?.close());

  it('answers /readyz with 503 and status unavailable', async () => {
    const response = await app.yoga.fetch(`${URL_BASE}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', database: 'unreachable', redis: 'not configured', degraded: false });
  });

  it('answers SERVICE_UNAVAILABLE with HTTP 503 and Retry-After, never a masked 500', async () => {
    const response = await postJson(app, '{ viewer { id email } }', { authorization: `Bearer ${jwt}` });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(response.body.data ?? null).toBeNull();
    // An outage is a warning under the request id, not an error with a stack.
    const requestId = response.headers.get('x-request-id');
    expect(logs.entries().some((entry) => entry.requestId === requestId && entry.level === 40)).toBe(true);
  });
});

describe('an unexpected failure', () => {
  // An ORM whose every entity manager fails with something no rule knows: a bug, not an outage.
  let app: App;
  let logs: CapturedLogs;
  let jwt: string;

  beforeAll(async () => {
    logs = captureLogs('info');
    const broken = new Proxy(t.orm, {
      get: (target, property) =>
        property === 'em'
          ? new Proxy(target.em, {
              get: (em, name) => (name === 'fork' ? () => { throw new Error('kaboom in the internals: select * from secrets'); } : Reflect.get(em, name)),
            })
          : Reflect.get(target, property),
    });
    app = createApp({ config: t.config, orm: broken, logger: logs.logger, sessionSecret: TEST_SECRET });
    jwt = (await t.user({ permissions: ['tools.*'] })).jwt;
  });
  afterAll(async () => app?.close());

  it('masks the failure in the response and logs it under the request id the caller sees', async () => {
    const response = await postJson(app, '{ viewer { id email } }', { authorization: `Bearer ${jwt}` });

    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toBe('Unexpected error.');
    expect(response.body.data ?? null).toBeNull();

    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/\S/);
    const logged = logs.entries().filter((entry) => entry.requestId === requestId);
    expect(logged.length).toBeGreaterThan(0);
    const errorEntry = logged.find((entry) => entry.level >= 50 && entry.err);
    expect(errorEntry, logs.text()).toBeDefined();
    expect(errorEntry!.err.message).toMatch(/kaboom/);

    // Whatever the log says about the cause, the caller sees none of it.
    const body = JSON.stringify(response.body);
    expect(body).not.toContain(errorEntry!.err.message);
    expect(body).not.toMatch(/stack|kaboom|select|internals/i);
  });

  it('uses the request id the caller sent in both the response and the log', async () => {
    const response = await postJson(app, '{ viewer { id } }', {
      authorization: `Bearer ${jwt}`,
      'x-request-id': 'outage-req-7',
    });
    expect(response.headers.get('x-request-id')).toBe('outage-req-7');
    expect(logs.entries().some((entry) => entry.requestId === 'outage-req-7' && entry.level >= 50)).toBe(true);
  });

  it('through a plain route is 500 INTERNAL_SERVER_ERROR, with the request id in the body and the log', async () => {
    const server = createServer(app.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/leaks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'rest-req-9' },
        // A well-formed secret: only that makes the report reach the database (and the broken fork).
        body: JSON.stringify({ tokens: [generateSecret('km').secret] }),
      });
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.', requestId: 'rest-req-9' });
      const logged = logs.entries().find((entry) => entry.requestId === 'rest-req-9' && entry.level >= 50);
      expect(logged?.err?.message, logs.text()).toMatch(/kaboom/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the logs', () => {
  it('redact authorization headers, cookies and secrets wherever code attaches them', () => {
    const logs = captureLogs('info');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';
    const secret = 'km_ThisIsNotARealSecretButItMustNotBeLoggedAnyway01';
    logs.logger.child({ requestId: 'r1' }).info(
      {
        req: { headers: { authorization: `Bearer ${jwt}`, cookie: `auth_token=${jwt}` } },
        headers: { authorization: `Bearer ${secret}`, cookie: `auth_token=${secret}` },
        authorization: `Bearer ${jwt}`,
        cookie: `auth_token=${jwt}`,
        secret,
        payload: { secret },
      },
      'attached every credential field the redaction list covers',
    );
    const [entry] = logs.entries();
    expect(entry?.requestId).toBe('r1');
    expect(entry?.req.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]' });
    expect(entry?.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]' });
    expect(entry?.payload.secret).toBe('[redacted]');
    expect(logs.text()).not.toContain(jwt);
    expect(logs.text()).not.toContain(secret);
  });

  it.each(['debug', 'trace'] as const)(
    'at %s never contain a session JWT, a minted secret or a cookie value',
    async (level) => {
      const { app, logs } = appWithLogs(level);
      const alice = await t.user({ permissions: ['tools.*'] });
      const cookieUser = await t.user({ permissions: ['tools.*'] });
      const forged = await signSession('a-different-secret-that-is-also-long-enough', {
        subject: 'test|forged',
        email: 'mallory@example.com',
      });

      const minted = await postJson(app, MINT, { authorization: `Bearer ${alice.jwt}` }, {
        input: { name: `logs-${level}`, expiresInDays: 1 },
      });
      expect(minted.body.data.mintToken.__typename).toBe('MintTokenPayload');
      const secret: string = minted.body.data.mintToken.secret;

      const viaToken = await postJson(app, '{ viewer { authMethod } }', { authorization: `Bearer ${secret}` });
      expect(viaToken.body.data.viewer.authMethod).toBe('API_TOKEN');

      const badJwt = await postJson(app, '{ viewer { authMethod } }', { authorization: `Bearer ${forged}` });
      expect(badJwt.status).toBe(401);

      const viaCookie = await postJson(app, '{ viewer { email } }', { cookie: `theme=dark; auth_token=${cookieUser.jwt}` });
      expect(viaCookie.body.data.viewer.email).toBe(cookieUser.email);

      const output = logs.text();
      // The capture works: yoga logs each request at debug and below.
      expect(output.length).toBeGreaterThan(0);
      for (const credential of [alice.jwt, secret, forged, cookieUser.jwt]) {
        expect(output).not.toContain(credential);
        // A JWT's signature, or a secret's random part, is enough to recognise it.
        expect(output).not.toContain(credential.slice(-20));
      }
    },
  );
});

describe('logged errors hold no values', () => {
  it('a database error keeps its SQL shape, without the emails, names and digests it was about', async () => {
    const logs = captureLogs('info');
    const email = 'carol.secretive@example.com';
    const digest = 'ab'.repeat(32);
    const connection = t.orm.em.getConnection();
    const insert = `insert into users (id, subject, email, name, created_at, updated_at) values (gen_random_uuid(), '${digest}', '${email}', 'Carol Hidden', now(), now())`;
    await connection.execute(insert);
    const failure = await connection.execute(insert).catch((error: unknown) => error);
    expect(String((failure as Error).message)).toContain(email);
    logs.logger.error({ err: failure }, 'unexpected error');
    const text = logs.text();
    expect(text).toContain('insert into users');
    expect(text).toContain('users_subject_unique');
    for (const value of [email, digest, 'Carol Hidden']) expect(text).not.toContain(value);
  });

  it('a GraphQL variable error never echoes something that looks like a Keymint secret', async () => {
    const alice = await t.user();
    const minted = await postJson(t.app, MINT, { authorization: `Bearer ${alice.jwt}` }, { input: { name: 'echo', expiresInDays: 1 } });
    const secret: string = minted.body.data.mintToken.secret;
    const wrongType = await postJson(t.app, 'query($n: Int) { tokens(first: $n) { totalCount } }', { authorization: `Bearer ${alice.jwt}` }, { n: secret });
    expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const literal = await postJson(t.app, `{ tokens(first: "${secret}") { totalCount } }`, { authorization: `Bearer ${alice.jwt}` });
    expect(literal.body.errors?.length).toBeGreaterThan(0);
    for (const response of [wrongType, literal]) {
      expect(JSON.stringify(response.body)).not.toContain(secret.slice(3));
      expect(JSON.stringify(response.body)).toContain('[redacted secret]');
    }
  });
});

describe('CSRF prevention', () => {
  it.each(['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x'])(
    'refuses a POST sent as %s without the x-graphql-yoga-csrf header with 403',
    async (contentType) => {
      const response = await t.app.yoga.fetch(`${URL_BASE}/graphql`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: contentType.startsWith('text/plain') ? JSON.stringify({ query: '{ __typename }' }) : 'query=%7B__typename%7D',
      });
      expect(response.status).toBe(403);
      const body = await response.json();
      expect(body.data ?? null).toBeNull();
    },
  );

  it('refuses a GET query without the CSRF header', async () => {
    const response = await t.app.yoga.fetch(`${URL_BASE}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(403);
  });

  it('does not run a form-encoded mutation that carries a session cookie', async () => {
    const victim = await t.user({ permissions: ['tools.*'] });
    const mutation = 'mutation { mintToken(input: { name: "csrf", expiresInDays: 1 }) { __typename } }';
    const response = await t.app.yoga.fetch(`${URL_BASE}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `auth_token=${victim.jwt}` },
      body: new URLSearchParams({ query: mutation }).toString(),
    });
    expect(response.status).toBe(403);

    const list = await t.gql('{ tokens(includeInactive: true) { totalCount } }', {}, { token: victim.jwt });
    expect(list.data.tokens.totalCount).toBe(0);
  });

  it('lets an application/json POST through', async () => {
    const response = await postJson(t.app, '{ __typename }');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('GraphiQL', () => {
  it('is served on GET /graphql to a browser asking for HTML', async () => {
    const response = await t.app.yoga.fetch(`${URL_BASE}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('Keymint');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, mintToken, resourceServer, revokeToken, VERIFY, type TestApp } from '../harness.js';
import { until } from '../support/until.js';
import { startPrivateRedis, type PrivateRedis } from './redis-server.js';

/**
 * Two Keymint instances in one process, over one database and one (private) Redis: separate
 * caches, rate-limit clients and event buses, as two processes would have.
 */
let redis: PrivateRedis;
let t: TestApp;
let b: App;
let caller: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  t = await createTestApp({ env: { REDIS_URL: redis.url } });
  b = createApp({ config: t.config, orm: t.orm, logger: createLogger(t.config), sessionSecret: t.config.auth.jwtSecret });
  caller = (await resourceServer(t)).secret;
  await until(async () => (await readyz(t.app)).redis === 'up' && (await readyz(b)).redis === 'up');
});

afterAll(async () => {
  await b?.close();
  await t?.close();
  await redis?.stop();
});

async function readyz(app: App) {
  const response = await app.yoga.fetch('http://keymint.test/readyz');
  return { httpStatus: response.status, ...(await response.json()) };
}

async function verifyOn(app: App, token: string) {
  const response = await app.yoga.fetch('http://keymint.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${caller}` },
    body: JSON.stringify({ query: VERIFY, variables: { input: { token } } }),
  });
  return (await response.json()).data.verifyToken;
}

describe('two instances with Redis', () => {
  it('a token cached on B is REVOKED on B soon after it is revoked on A', async () => {
    const owner = await t.user();
    const { token, secret } = await mintToken(t, owner.jwt, { name: 'cached on b' });
    expect((await verifyOn(b, secret)).outcome).toBe('VALID');
    await revokeToken(t, owner.jwt, { id: token.id });
    const elapsed = await until(async () => (await verifyOn(b, secret)).outcome === 'REVOKED', 2_000);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('a limit of 10 per minute is 10 across both instances', async () => {
    const owner = await t.user();
    const { secret } = await mintToken(t, owner.jwt, { name: 'shared limit', usageLimits: { requestsPerMinute: 10 } });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => verifyOn(i % 2 === 0 ? t.app : b, secret)));
    expect(results.filter((r) => r.outcome === 'VALID')).toHaveLength(10);
    expect(results.filter((r) => r.outcome === 'RATE_LIMITED')).toHaveLength(40);
  });

  it('tokenEvents streams revocations, rotations and updates to a subscribed gateway', async () => {
    const owner = await t.user();
    const { token } = await mintToken(t, owner.jwt, { name: 'watched' });
    const response = await b.yoga.fetch('http://keymint.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${caller}` },
      body: JSON.stringify({ query: 'subscription { tokenEvents { type tokenId prefix } }' }),
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const received: any[] = [];
    const reading = (async () => {
      let buffer = '';
      while (received.length < 1) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += new TextDecoder().decode(value);
        for (const line of buffer.split('\n')) {
          if (line.startsWith('data: ')) {
            const payload = JSON.parse(line.slice(6));
            if (payload.data?.tokenEvents) received.push(payload.data.tokenEvents);
          }
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await revokeToken(t, owner.jwt, { id: token.id });
    await Promise.race([reading, new Promise((_, reject) => setTimeout(() => reject(new Error('no event')), 3_000))]);
    await reader.cancel();
    expect(received[0]).toEqual({ type: 'REVOKED', tokenId: token.id, prefix: token.prefix });
  });

  it('tokenEvents needs tokens.verify', async () => {
    const user = await t.user();
    const response = await t.gql('subscription { tokenEvents { type } }', {}, { token: user.jwt });
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('without Redis: degraded, still verifying, limits per instance; and all recovers when it returns', async () => {
    const owner = await t.user();
    const { secret } = await mintToken(t, owner.jwt, { name: 'through the outage', usageLimits: { requestsPerMinute: 3 } });
    await redis.stop();
    await until(async () => (await readyz(t.app)).degraded === true);
    expect(await readyz(t.app)).toMatchObject({ httpStatus: 200, status: 'degraded', degraded: true, redis: 'unreachable', database: 'up' });
    // Each instance now counts on its own: 3 on A and 3 on B.
    const outcomes = [];
    for (let i = 0; i < 4; i += 1) outcomes.push((await verifyOn(t.app, secret)).outcome);
    expect(outcomes).toEqual(['VALID', 'VALID', 'VALID', 'RATE_LIMITED']);
    expect((await verifyOn(b, secret)).outcome).toBe('VALID');

    await redis.start();
    await until(async () => (await readyz(t.app)).degraded === false && (await readyz(b)).degraded === false, 10_000);
    expect(await readyz(t.app)).toMatchObject({ httpStatus: 200, status: 'ok', degraded: false, redis: 'up' });
    // Live revocation works again.
    const fresh = await mintToken(t, owner.jwt, { name: 'after the outage' });
    expect((await verifyOn(b, fresh.secret)).outcome).toBe('VALID');
    await revokeToken(t, owner.jwt, { id: fresh.token.id });
    await until(async () => (await verifyOn(b, fresh.secret)).outcome === 'REVOKED', 2_000);
  }, 30_000);
});

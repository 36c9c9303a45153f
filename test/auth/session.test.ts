import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../src/auth/session-signer.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const VIEWER = `{ viewer { id email name isAdmin authMethod permissions token { id } } }`;
const key = new TextEncoder().encode(TEST_SECRET);

async function expectUnauthenticated(headers: Record<string, string>, message: RegExp) {
  const response = await t.gql(VIEWER, {}, { headers });
  expect(response.status).toBe(401);
  expect(response.data).toBeNull();
  expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(response.errors?.[0]?.message).toMatch(message);
  return response;
}

describe('session JWT: happy', () => {
  it('authenticates with Authorization: Bearer and reports the claims', async () => {
    const alice = await t.user({ name: 'Alice', permissions: ['tools.read', 'files.*'] });
    const response = await t.gql(VIEWER, {}, { token: alice.jwt });
    expect(response.data.viewer).toMatchObject({
      email: alice.email,
      name: 'Alice',
      isAdmin: false,
      authMethod: 'SESSION',
      permissions: ['files.*', 'tools.read'],
      token: null,
    });
    expect(response.data.viewer.id).toMatch(/^usr_/);
  });

  it('authenticates with the auth_token cookie', async () => {
    const alice = await t.user();
    const response = await t.gql(VIEWER, {}, { headers: { cookie: `theme=dark; auth_token=${alice.jwt}` } });
    expect(response.data.viewer.email).toBe(alice.email);
  });

  it('admin: true means the caller holds *', async () => {
    const admin = await t.user({ admin: true, permissions: ['tools.read'] });
    const response = await t.gql(VIEWER, {}, { token: admin.jwt });
    expect(response.data.viewer).toMatchObject({ isAdmin: true, permissions: ['*'] });
  });

  it('creates the user once and writes again only when the claims change', async () => {
    const first = await t.user({ permissions: ['tools.read'] });
    const { statements: creating } = await t.countStatements(() => t.gql(VIEWER, {}, { token: first.jwt }));
    expect(creating.some((sql) => /^insert into "users"/i.test(sql))).toBe(true);

    const { result, statements: steady } = await t.countStatements(() => t.gql(VIEWER, {}, { token: first.jwt }));
    expect(result.data.viewer.permissions).toEqual(['tools.read']);
    expect(steady).toHaveLength(1);
    expect(steady[0]).toMatch(/^select/i);

    const promoted = await t.user({ subject: first.subject, email: first.email, permissions: ['tools.*'] });
    const { result: after, statements: refreshing } = await t.countStatements(() =>
      t.gql(VIEWER, {}, { token: promoted.jwt }),
    );
    expect(refreshing.some((sql) => /^update "users"/i.test(sql))).toBe(true);
    expect(after.data.viewer.permissions).toEqual(['tools.*']);
    expect(after.data.viewer.id).toBe(result.data.viewer.id);
  });

  it('the first requests of a new user may race and still end on one user', async () => {
    const alice = await t.user();
    const responses = await Promise.all(Array.from({ length: 5 }, () => t.gql(VIEWER, {}, { token: alice.jwt })));
    const ids = new Set(responses.map((r) => r.data?.viewer?.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^usr_/);
  });

  it('honours configured claim names', async () => {
    const custom = await createTestApp({ env: { AUTH_CLAIM_PERMISSIONS: 'scp', AUTH_CLAIM_ADMIN: 'is_root' } });
    try {
      const jwt = await signSession(
        TEST_SECRET,
        { subject: 'idp|42', email: 'c@example.com', permissions: ['tools.read'], admin: false },
        { permissionsClaim: 'scp', adminClaim: 'is_root' },
      );
      const response = await custom.gql(VIEWER, {}, { token: jwt });
      expect(response.data.viewer.permissions).toEqual(['tools.read']);
      const scopeString = await new SignJWT({ email: 'd@example.com', scp: 'tools.read files.write', is_root: false })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('idp|43')
        .setExpirationTime('1h')
        .sign(key);
      const spaced = await custom.gql(VIEWER, {}, { token: scopeString });
      expect(spaced.data.viewer.permissions).toEqual(['files.write', 'tools.read']);
    } finally {
      await custom.close();
    }
  });
});

describe('session JWT: refusals say what was wrong', () => {
  it('missing credentials', async () => {
    await expectUnauthenticated({}, /Authentication required/);
  });

  it('a non-Bearer Authorization header', async () => {
    await expectUnauthenticated({ authorization: 'Basic dXNlcjpwYXNz' }, /Bearer/);
  });

  it('a malformed token', async () => {
    await expectUnauthenticated({ authorization: 'Bearer not.a.jwt' }, /Malformed/);
    await expectUnauthenticated({ authorization: 'Bearer garbage' }, /Malformed/);
  });

  it('an expired token', async () => {
    const jwt = await new SignJWT({ email: 'e@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('idp|expired')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(key);
    await expectUnauthenticated({ authorization: `Bearer ${jwt}` }, /expired/);
  });

  it('a bad signature', async () => {
    const jwt = await signSession('another-secret-that-is-also-long-enough!!', { subject: 's', email: 'f@example.com' });
    await expectUnauthenticated({ authorization: `Bearer ${jwt}` }, /signature/);
  });

  it('an algorithm that is not accepted (alg: none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'x', email: 'x@example.com' })).toString('base64url');
    await expectUnauthenticated({ authorization: `Bearer ${header}.${payload}.` }, /algorithm/);
  });

  it('a token without the email claim', async () => {
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('idp|x').setExpirationTime('1h').sign(key);
    await expectUnauthenticated({ authorization: `Bearer ${jwt}` }, /'email'/);
  });

  it('a token without the sub claim', async () => {
    const jwt = await new SignJWT({ email: 'g@example.com' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    await expectUnauthenticated({ authorization: `Bearer ${jwt}` }, /'sub'/);
  });

  it('a refusal never echoes the credential', async () => {
    const jwt = await signSession('another-secret-that-is-also-long-enough!!', { subject: 's', email: 'h@example.com' });
    const response = await expectUnauthenticated({ authorization: `Bearer ${jwt}` }, /signature/);
    expect(JSON.stringify(response.body)).not.toContain(jwt);
  });
});

describe('issuer and audience', () => {
  it('are checked when configured', async () => {
    const strict = await createTestApp({ env: { AUTH_ISSUER: 'https://idp.example.com', AUTH_AUDIENCE: 'keymint' } });
    try {
      const good = await signSession(TEST_SECRET, { subject: 'i', email: 'i@example.com' }, undefined, {
        issuer: 'https://idp.example.com',
        audience: 'keymint',
      });
      expect((await strict.gql(VIEWER, {}, { token: good })).data.viewer.email).toBe('i@example.com');
      const wrong = await signSession(TEST_SECRET, { subject: 'i', email: 'i@example.com' }, undefined, {
        issuer: 'https://evil.example.com',
        audience: 'keymint',
      });
      const response = await strict.gql(VIEWER, {}, { token: wrong });
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(response.errors?.[0]?.message).toMatch(/'iss'/);
    } finally {
      await strict.close();
    }
  });
});

describe('sessions must expire, and not too late', () => {
  it('a session without exp is refused, saying why', async () => {
    const jwt = await new SignJWT({ email: 'noexp@example.com' }).setProtectedHeader({ alg: 'HS256' }).setSubject('idp|noexp').setIssuedAt().sign(key);
    await expectUnauthenticated({ authorization: `Bearer ${jwt}` }, /no 'exp' claim/);
  });

  it('a session living longer than SESSION_MAX_AGE_SECONDS (default 24 h) is refused', async () => {
    const long = await signSession(TEST_SECRET, { subject: 'idp|long', email: 'long@example.com', ttlSeconds: 25 * 3600 });
    await expectUnauthenticated({ authorization: `Bearer ${long}` }, /SESSION_MAX_AGE_SECONDS/);
    // Without iat, the lifetime counts from now.
    const noIat = await new SignJWT({ email: 'long@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('idp|long')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 25 * 3600)
      .sign(key);
    await expectUnauthenticated({ authorization: `Bearer ${noIat}` }, /SESSION_MAX_AGE_SECONDS/);
    const day = await signSession(TEST_SECRET, { subject: 'idp|long', email: 'long@example.com', ttlSeconds: 24 * 3600 });
    expect((await t.gql(VIEWER, {}, { token: day })).data.viewer.email).toBe('long@example.com');
  });

  it('SESSION_MAX_AGE_SECONDS is configuration', async () => {
    const strict = await createTestApp({ env: { SESSION_MAX_AGE_SECONDS: '3600' } });
    try {
      const twoHours = await signSession(TEST_SECRET, { subject: 'idp|2h', email: 'two@example.com', ttlSeconds: 7200 });
      const response = await strict.gql(VIEWER, {}, { token: twoHours });
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await strict.close();
    }
  });

  it('admin is granted only by a JSON true', async () => {
    for (const admin of ['true', 1, 'yes']) {
      const jwt = await new SignJWT({ email: 'admin@example.com', admin })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(`idp|admin-${String(admin)}`)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key);
      expect((await t.gql(VIEWER, {}, { token: jwt })).data.viewer.isAdmin).toBe(false);
    }
  });
});

describe('the newest session decides what a user holds', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const session = (subject: string, email: string, issuedAt: number, permissions: string[], admin = false) =>
    signSession(TEST_SECRET, { subject, email, issuedAt, permissions, admin, ttlSeconds: 4 * 3600 });

  it("an older session authenticates as itself but no longer rewrites what the user's tokens may do", async () => {
    const [subject, email] = ['idp|ordered', 'ordered@example.com'];
    const older = await session(subject, email, now() - 3600, ['tools.*']);
    const newer = await session(subject, email, now() - 60, ['tools.read']);
    expect((await t.gql(VIEWER, {}, { token: newer })).data.viewer.permissions).toEqual(['tools.read']);
    // The stale tab: it authenticates, but with no more than the newest session grants...
    expect((await t.gql(VIEWER, {}, { token: older })).data.viewer.permissions).toEqual(['tools.read']);
    // ...and a token that inherits its owner's permissions still holds only tools.read.
    const minted = await t.gql(
      `mutation { mintToken(input: { name: "ci", expiresInDays: 1 }) { ... on MintTokenPayload { secret } } }`,
      {},
      { token: newer },
    );
    const viaToken = await t.gql(VIEWER, {}, { token: minted.data.mintToken.secret });
    expect(viaToken.data.viewer.permissions).toEqual(['tools.read']);
    // A session issued later still changes them.
    const newest = await session(subject, email, now(), ['tools.write']);
    expect((await t.gql(VIEWER, {}, { token: newest })).data.viewer.permissions).toEqual(['tools.write']);
    expect((await t.gql(VIEWER, {}, { token: minted.data.mintToken.secret })).data.viewer.permissions).toEqual(['tools.write']);
  });

  it('an administrator demoted by a newer session keeps no admin power through an old one', async () => {
    const [subject, email] = ['idp|demoted', 'demoted@example.com'];
    const old = await session(subject, email, now() - 3600, [], true);
    expect((await t.gql(VIEWER, {}, { token: old })).data.viewer.isAdmin).toBe(true);
    const demoted = await session(subject, email, now() - 10, ['tools.read'], false);
    expect((await t.gql(VIEWER, {}, { token: demoted })).data.viewer.isAdmin).toBe(false);
    const stale = await t.gql(VIEWER, {}, { token: old });
    expect(stale.data.viewer).toMatchObject({ isAdmin: false, permissions: ['tools.read'] });
    expect((await t.gql('{ adminTokens { totalCount } }', {}, { token: old })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('two sessions racing: the newer one is what stays recorded', async () => {
    const [subject, email] = ['idp|race', 'race@example.com'];
    await t.gql(VIEWER, {}, { token: await session(subject, email, now() - 7200, ['files.read']) });
    const older = await session(subject, email, now() - 3600, ['tools.*']);
    const newer = await session(subject, email, now() - 60, ['tools.read']);
    await Promise.all(Array.from({ length: 6 }, (_, i) => t.gql(VIEWER, {}, { token: i % 2 ? older : newer })));
    const [row] = await t.orm.em.getConnection().execute<{ permissions: string[] }[]>(`select permissions from users where subject = ?`, [subject]);
    expect(row?.permissions).toEqual(['tools.read']);
  });
});

describe('a new user whose first two sessions race', () => {
  it('ends with the newer session recorded, whichever arrived first', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (let round = 0; round < 3; round += 1) {
      const [subject, email] = [`idp|first-race-${round}`, `first-race-${round}@example.com`];
      const older = await signSession(TEST_SECRET, { subject, email, issuedAt: now - 3600, permissions: ['tools.*'], ttlSeconds: 4 * 3600 });
      const newer = await signSession(TEST_SECRET, { subject, email, issuedAt: now - 60, permissions: ['tools.read'], ttlSeconds: 4 * 3600 });
      const order = round % 2 ? [older, newer] : [newer, older];
      await Promise.all(order.map((jwt) => t.gql(VIEWER, {}, { token: jwt })));
      const [row] = await t.orm.em.getConnection().execute<{ permissions: string[] }[]>(`select permissions from users where subject = ?`, [subject]);
      expect(row?.permissions).toEqual(['tools.read']);
    }
  });
});

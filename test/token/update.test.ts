import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, randomTokenId, revokeToken, updateToken, type TestApp } from '../harness.js';
import { testClock } from '../support/test-clock.js';

const clock = testClock();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t?.close());

const DAY = 86_400_000;

describe('updateToken: happy', () => {
  it('changes only the fields given', async () => {
    const alice = await t.user({ permissions: ['tools.*'] });
    const { token } = await mintToken(t, alice.jwt, {
      name: 'agent',
      description: 'old',
      permissions: ['tools.read'],
      tags: ['a'],
      serverId: 'one',
    });
    const updated = await updateToken(t, alice.jwt, {
      id: token.id,
      name: 'agent v2',
      permissions: ['tools.read', 'tools.execute'],
      ipRestrictions: ['203.0.113.0/24'],
      timeRestrictions: { startTime: '09:00', endTime: '17:00', timeZone: 'America/New_York' },
      usageLimits: { requestsPerHour: 100 },
    });
    expect(updated.__typename).toBe('UpdateTokenPayload');
    expect(updated.token).toMatchObject({
      id: token.id,
      name: 'agent v2',
      description: 'old',
      serverId: 'one',
      tags: ['a'],
      permissions: ['tools.read', 'tools.execute'],
      ipRestrictions: ['203.0.113.0/24'],
      timeRestrictions: { daysOfWeek: null, startTime: '09:00', endTime: '17:00', timeZone: 'America/New_York' },
      usageLimits: { requestsPerHour: 100, requestsPerMinute: null },
      expiresAt: token.expiresAt,
    });
  });

  it('null clears the clearable fields', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, {
      name: 'clear me',
      description: 'x',
      serverId: 's',
      usageLimits: { requestsPerDay: 5 },
      timeRestrictions: { daysOfWeek: ['MONDAY'] },
    });
    const updated = await updateToken(t, alice.jwt, {
      id: token.id,
      description: null,
      serverId: null,
      usageLimits: null,
      timeRestrictions: null,
      tags: [],
    });
    expect(updated.token).toMatchObject({ description: null, serverId: null, usageLimits: null, timeRestrictions: null, tags: [] });
  });

  it('sets a new expiry from now, within the maximum', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'renew' });
    const updated = await updateToken(t, alice.jwt, { id: token.id, expiresInDays: 90 });
    expect(Date.parse(updated.token.expiresAt)).toBe(clock.now() + 90 * DAY);
  });

  it('renaming to the name of a revoked token is fine', async () => {
    const alice = await t.user();
    const old = await mintToken(t, alice.jwt, { name: 'old name' });
    await revokeToken(t, alice.jwt, { id: old.token.id });
    const { token } = await mintToken(t, alice.jwt, { name: 'new name' });
    expect((await updateToken(t, alice.jwt, { id: token.id, name: 'old name' })).__typename).toBe('UpdateTokenPayload');
  });
});

describe('updateToken: errors', () => {
  it('cannot grant what the caller does not hold, and changes nothing', async () => {
    const alice = await t.user({ permissions: ['tools.read'] });
    const { token } = await mintToken(t, alice.jwt, { name: 'narrow', permissions: ['tools.read'] });
    const result = await updateToken(t, alice.jwt, { id: token.id, name: 'renamed', permissions: ['tools.read', 'tools.execute'] });
    expect(result.__typename).toBe('ValidationError');
    expect(result.message).toContain("'tools.execute'");
    expect(result.fieldErrors).toEqual([{ path: ['permissions', '1'], message: expect.any(String) }]);
    const after = await t.gql(`query($id: ID!) { token(id: $id) { name permissions } }`, { id: token.id }, { token: alice.jwt });
    expect(after.data.token).toEqual({ name: 'narrow', permissions: ['tools.read'] });
  });

  it('invalid values are ValidationErrors with paths', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'v' });
    const result = await updateToken(t, alice.jwt, { id: token.id, name: '', ipRestrictions: ['1.2.3'], expiresInDays: 400 });
    expect(result.__typename).toBe('ValidationError');
    expect(result.fieldErrors.map((e: any) => e.path)).toEqual([['name'], ['ipRestrictions', '0'], ['expiresInDays']]);
  });

  it('cannot remove the expiry while REQUIRE_TOKEN_EXPIRY is on', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'keep expiry' });
    const result = await updateToken(t, alice.jwt, { id: token.id, expiresAt: null });
    expect(result.__typename).toBe('ValidationError');
  });

  it('renaming onto another active token is a ConflictError', async () => {
    const alice = await t.user();
    await mintToken(t, alice.jwt, { name: 'taken' });
    const { token } = await mintToken(t, alice.jwt, { name: 'free' });
    const result = await updateToken(t, alice.jwt, { id: token.id, name: 'taken' });
    expect(result.__typename).toBe('ConflictError');
  });

  it('a revoked token cannot be updated', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'gone' });
    await revokeToken(t, alice.jwt, { id: token.id });
    const result = await updateToken(t, alice.jwt, { id: token.id, description: 'too late' });
    expect(result.__typename).toBe('ValidationError');
    expect(result.message).toMatch(/revoked/);
  });

  it('an expired token cannot be updated', async () => {
    const alice = await t.user();
    const { token } = await mintToken(t, alice.jwt, { name: 'old', expiresInDays: 1 });
    await clock.at(clock.now() + 2 * DAY, async () => {
      const result = await updateToken(t, alice.jwt, { id: token.id, description: 'too late' });
      expect(result.__typename).toBe('ValidationError');
      expect(result.message).toMatch(/expired/);
    });
  });
});

describe('updateToken: security', () => {
  it("another user's token, a missing one and a malformed id are the same NotFoundError", async () => {
    const [alice, bob] = [await t.user(), await t.user({ permissions: ['*'] })];
    const { token } = await mintToken(t, alice.jwt, { name: 'private' });
    const answers = new Set<string>();
    for (const id of [token.id, randomTokenId(), 'nope']) {
      answers.add(JSON.stringify(await updateToken(t, bob.jwt, { id, name: 'stolen' })));
    }
    expect([...answers]).toEqual([JSON.stringify({ __typename: 'NotFoundError', message: 'Token not found' })]);
    const after = await t.gql(`query($id: ID!) { token(id: $id) { name } }`, { id: token.id }, { token: alice.jwt });
    expect(after.data.token.name).toBe('private');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, randomTokenId, resourceServer, revokeToken, seedTeam, verifyToken, type TestApp } from '../harness.js';
import { testClock } from '../support/test-clock.js';

const START = Date.parse('2026-11-18T12:00:00.000Z');
const clock = testClock(START);
let t: TestApp;
let caller: string;

beforeAll(async () => {
  t = await createTestApp({ clock });
  caller = (await resourceServer(t)).secret;
});
afterAll(async () => t?.close());

const ROTATE = `mutation($input: RotateTokenInput!) { rotateToken(input: $input) {
  __typename
  ... on RotateTokenPayload { secret token { id name prefix permissions expiresAt status rotatedAt previousSecretExpiresAt } }
  ... on Error { message }
} }`;

async function rotate(credential: string, input: Record<string, unknown>) {
  const response = await t.gql(ROTATE, { input }, { token: credential });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.rotateToken;
}

async function outcome(secret: string) {
  return (await verifyToken(t, caller, { token: secret })).outcome;
}

describe('rotateToken', () => {
  it('gives a new secret for the same token, keeping everything else', async () => {
    const owner = await t.user({ permissions: ['tools.*'] });
    const minted = await mintToken(t, owner.jwt, { name: 'ci', permissions: ['tools.read'], expiresInDays: 30 });
    const rotated = await rotate(owner.jwt, { id: minted.token.id });
    expect(rotated.__typename).toBe('RotateTokenPayload');
    expect(rotated.secret).not.toBe(minted.secret);
    expect(rotated.token).toMatchObject({
      id: minted.token.id,
      name: 'ci',
      permissions: ['tools.read'],
      expiresAt: minted.token.expiresAt,
      status: 'ACTIVE',
      prefix: rotated.secret.slice(0, 12),
      rotatedAt: new Date(START).toISOString(),
      previousSecretExpiresAt: null,
    });
    // Without a grace period the old secret dies at once.
    expect(await outcome(minted.secret)).toBe('REVOKED');
    expect(await outcome(rotated.secret)).toBe('VALID');
  });

  it('the old secret works until the grace period ends, and not after', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'graceful' });
    const rotated = await rotate(owner.jwt, { id: minted.token.id, gracePeriodSeconds: 3600 });
    expect(rotated.token.previousSecretExpiresAt).toBe(new Date(START + 3600_000).toISOString());
    expect(await clock.at(START + 3599_999, () => outcome(minted.secret))).toBe('VALID');
    expect(await clock.at(START + 3600_000, () => outcome(minted.secret))).toBe('REVOKED');
    expect(await clock.at(START + 3600_000, () => outcome(rotated.secret))).toBe('VALID');
  });

  it('the grace period never outlasts the token', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'short', expiresInDays: 1 });
    const rotated = await rotate(owner.jwt, { id: minted.token.id, gracePeriodSeconds: 7 * 86400 });
    expect(rotated.token.previousSecretExpiresAt).toBe(minted.token.expiresAt);
  });

  it('a rotation during a grace period ends it first: at most two secrets live', async () => {
    const owner = await t.user();
    const first = await mintToken(t, owner.jwt, { name: 'thrice' });
    const second = await rotate(owner.jwt, { id: first.token.id, gracePeriodSeconds: 3600 });
    expect(await outcome(first.secret)).toBe('VALID');
    const third = await rotate(owner.jwt, { id: first.token.id, gracePeriodSeconds: 3600 });
    expect(await outcome(first.secret)).toBe('REVOKED');
    expect(await outcome(second.secret)).toBe('VALID');
    expect(await outcome(third.secret)).toBe('VALID');
  });

  it('expectedPrefix makes it compare-and-swap', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'cas' });
    const winner = await rotate(owner.jwt, { id: minted.token.id, expectedPrefix: minted.token.prefix });
    expect(winner.__typename).toBe('RotateTokenPayload');
    const loser = await rotate(owner.jwt, { id: minted.token.id, expectedPrefix: minted.token.prefix });
    expect(loser.__typename).toBe('ConflictError');
  });

  it('concurrent rotations: one secret wins, the other caller gets a ConflictError or rotates after it', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'raced' });
    const results = await Promise.all([1, 2, 3].map(() => rotate(owner.jwt, { id: minted.token.id, expectedPrefix: minted.token.prefix })));
    expect(results.filter((r) => r.__typename === 'RotateTokenPayload')).toHaveLength(1);
    expect(results.filter((r) => r.__typename === 'ConflictError')).toHaveLength(2);
  });

  it('refuses revoked and expired tokens, and a grace period out of range', async () => {
    const owner = await t.user();
    const revoked = await mintToken(t, owner.jwt, { name: 'gone' });
    await revokeToken(t, owner.jwt, { id: revoked.token.id });
    expect((await rotate(owner.jwt, { id: revoked.token.id })).__typename).toBe('ValidationError');
    const expiring = await mintToken(t, owner.jwt, { name: 'old', expiresInDays: 1 });
    expect((await clock.at(START + 2 * 86_400_000, () => rotate(owner.jwt, { id: expiring.token.id }))).__typename).toBe('ValidationError');
    const fine = await mintToken(t, owner.jwt, { name: 'fine' });
    expect((await rotate(owner.jwt, { id: fine.token.id, gracePeriodSeconds: 30 * 86400 + 1 })).__typename).toBe('ValidationError');
    expect((await rotate(owner.jwt, { id: fine.token.id, gracePeriodSeconds: -1 })).__typename).toBe('ValidationError');
  });

  it('using an old secret after its grace period is recorded as a REVOKED use the owner can see', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'reused' });
    await rotate(owner.jwt, { id: minted.token.id });
    expect(await outcome(minted.secret)).toBe('REVOKED');
    await t.app.usage.flush();
    const usage = await t.gql(
      `query($id: ID!) { token(id: $id) { usage(days: 1) { blockReasons { reason count } } } }`,
      { id: minted.token.id },
      { token: owner.jwt },
    );
    expect(usage.data.token.usage.blockReasons).toEqual([{ reason: 'REVOKED', count: 1 }]);
  });

  it('revoking the token kills an old secret still in its grace period', async () => {
    const owner = await t.user();
    const minted = await mintToken(t, owner.jwt, { name: 'both dead' });
    await rotate(owner.jwt, { id: minted.token.id, gracePeriodSeconds: 3600 });
    expect(await outcome(minted.secret)).toBe('VALID');
    await revokeToken(t, owner.jwt, { id: minted.token.id });
    expect(await outcome(minted.secret)).toBe('REVOKED');
  });
});

describe('rotateToken: who may', () => {
  it('an API token with tokens.update rotates itself (CI self-rotation); without it, it may not', async () => {
    const owner = await t.user({ permissions: ['tokens.*'] });
    const ci = await mintToken(t, owner.jwt, { name: 'ci job', permissions: ['tokens.update'] });
    const self = await rotate(ci.secret, { id: ci.token.id, gracePeriodSeconds: 60 });
    expect(self.__typename).toBe('RotateTokenPayload');
    const plain = await mintToken(t, owner.jwt, { name: 'plain', permissions: [] });
    expect((await rotate(plain.secret, { id: plain.token.id })).__typename).toBe('ForbiddenError');
  });

  it("an admin sees anyone's token but may not take its secret; an outsider finds nothing", async () => {
    const [owner, admin, outsider] = [await t.user(), await t.user({ admin: true }), await t.user()];
    const minted = await mintToken(t, owner.jwt, { name: 'audited' });
    const refused = await rotate(admin.jwt, { id: minted.token.id });
    expect(refused.__typename).toBe('ForbiddenError');
    expect(refused.message).toMatch(/Only the token's owner/);
    const hidden = await rotate(outsider.jwt, { id: minted.token.id });
    const missing = await rotate(outsider.jwt, { id: randomTokenId() });
    expect(hidden).toEqual({ __typename: 'NotFoundError', message: 'Token not found' });
    expect(missing).toEqual(hidden);
  });
});

describe('rotateToken: a new secret acts as the owner, so only the owner (or its own lineage) gets one', () => {
  it("a team owner sees and revokes a member's team token, but is refused its secret; the member's copy is untouched", async () => {
    const [lead, member] = [await t.user({ permissions: ['tools.*'] }), await t.user({ permissions: ['tools.*'] })];
    const teamId = await seedTeam(t, 'Rotation', [
      { user: lead, role: 'OWNER' },
      { user: member, role: 'MEMBER' },
    ]);
    const theirs = await mintToken(t, member.jwt, { name: 'deploy', teamId, permissions: ['tools.write'] });
    const refused = await rotate(lead.jwt, { id: theirs.token.id, gracePeriodSeconds: 3600 });
    expect(refused.__typename).toBe('ForbiddenError');
    expect(refused.message).toContain('Team owners and administrators may revoke it instead');
    expect(await outcome(theirs.secret)).toBe('VALID');
    const token = await t.gql(`query($id: ID!) { token(id: $id) { prefix rotatedAt } }`, { id: theirs.token.id }, { token: lead.jwt });
    expect(token.data.token).toEqual({ prefix: theirs.token.prefix, rotatedAt: null });
    // Revoking stays theirs to do.
    expect((await revokeToken(t, lead.jwt, { id: theirs.token.id })).__typename).toBe('RevokeTokenPayload');
  });

  it('the member rotates their own team token', async () => {
    const member = await t.user({ permissions: ['tools.*'] });
    const teamId = await seedTeam(t, 'Own', [{ user: member, role: 'MEMBER' }]);
    const mine = await mintToken(t, member.jwt, { name: 'mine', teamId });
    expect((await rotate(member.jwt, { id: mine.token.id })).__typename).toBe('RotateTokenPayload');
  });

  it('an API token holding tokens.update rotates its descendants, never its parent', async () => {
    const owner = await t.user({ permissions: ['tokens.*', 'tools.*'] });
    const parent = await mintToken(t, owner.jwt, { name: 'parent', permissions: ['tokens.*', 'tools.read'] });
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tokens.create', 'tokens.update', 'tools.read'] });
    const grandchild = await mintToken(t, child.secret, { name: 'grandchild', permissions: ['tools.read'] });
    expect((await rotate(parent.secret, { id: grandchild.token.id })).__typename).toBe('RotateTokenPayload');
    const rotated = await rotate(child.secret, { id: child.token.id });
    expect(rotated.__typename).toBe('RotateTokenPayload');
    expect(await rotate(rotated.secret, { id: parent.token.id })).toEqual({ __typename: 'NotFoundError', message: 'Token not found' });
  });
});

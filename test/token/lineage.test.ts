import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, resourceServer, revokeToken, updateToken, verifyToken, type TestApp } from '../harness.js';
import { testClock } from '../support/test-clock.js';

const DAY = 86_400_000;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const VIEWER = `{ viewer { permissions } }`;
const LINEAGE = `query($id: ID!) { token(id: $id) { id status parent { id } children { id name } revocation { reason } } }`;

/** A user holding tools.* and tokens.*, and an API token (the parent) that may manage tokens. */
async function family(parentPermissions = ['tokens.*', 'tools.read'], expiresInDays = 60) {
  const owner = await t.user({ permissions: ['tools.*', 'tokens.*', 'files.*'] });
  const parent = await mintToken(t, owner.jwt, { name: 'parent', permissions: parentPermissions, expiresInDays });
  return { owner, parent };
}

describe('safe token chaining', () => {
  it('a token minted by an API token is its child, and the lineage is visible', async () => {
    const { owner, parent } = await family();
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tools.read'], expiresInDays: 7 });
    expect(child.__typename).toBe('MintTokenPayload');
    expect(child.token.owner.email).toBe(owner.email);
    const asOwner = await t.gql(LINEAGE, { id: child.token.id }, { token: owner.jwt });
    expect(asOwner.data.token.parent).toEqual({ id: parent.token.id });
    const parentView = await t.gql(LINEAGE, { id: parent.token.id }, { token: owner.jwt });
    expect(parentView.data.token.children).toEqual([{ id: child.token.id, name: 'child' }]);
  });

  it("a child's permissions must be contained in the parent's, never the owner's wider set", async () => {
    const { parent } = await family(['tokens.*', 'tools.read']);
    const wider = await mintToken(t, parent.secret, { name: 'wider', permissions: ['tools.execute'] });
    expect(wider.__typename).toBe('ValidationError');
    expect(wider.message).toContain("'tools.execute'");
    expect((await mintToken(t, parent.secret, { name: 'star', permissions: ['*'] })).__typename).toBe('ValidationError');
    // An empty list means exactly the parent's set.
    const inherits = await mintToken(t, parent.secret, { name: 'inherits', permissions: [] });
    const held = await t.gql(VIEWER, {}, { token: inherits.secret });
    expect(held.data.viewer.permissions.sort()).toEqual(['tokens.*', 'tools.read']);
  });

  it("a child's expiry may not be later than the parent's: refused, not clamped", async () => {
    const { parent } = await family(['tokens.*'], 10);
    const later = await mintToken(t, parent.secret, { name: 'later', expiresInDays: 11 });
    expect(later.__typename).toBe('ValidationError');
    expect(later.fieldErrors[0].path).toEqual(['expiresAt']);
    const within = await mintToken(t, parent.secret, { name: 'within', expiresInDays: 9 });
    expect(Date.parse(within.token.expiresAt)).toBeLessThan(Date.parse(parent.token.expiresAt));
  });

  it('an API token manages only itself and its descendants, never its parent or its owner’s other tokens', async () => {
    const { owner, parent } = await family();
    const sibling = await mintToken(t, owner.jwt, { name: 'sibling' });
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tokens.*'], expiresInDays: 20 });
    const grandchild = await mintToken(t, child.secret, { name: 'grandchild', permissions: [], expiresInDays: 10 });

    // The child lists itself and its own descendant, nothing else.
    const listed = await t.gql(`{ tokens { edges { node { name } } } }`, {}, { token: child.secret });
    expect(listed.data.tokens.edges.map((e: any) => e.node.name).sort()).toEqual(['child', 'grandchild']);
    // Its parent and the owner's other tokens look absent.
    for (const other of [parent.token.id, sibling.token.id]) {
      expect((await t.gql(LINEAGE, { id: other }, { token: child.secret })).body).toEqual({ data: { token: null } });
      expect((await revokeToken(t, child.secret, { id: other })).__typename).toBe('NotFoundError');
      expect((await updateToken(t, child.secret, { id: other, name: 'taken over' })).__typename).toBe('NotFoundError');
    }
    // The child sees itself, but not its parent through it.
    const self = await t.gql(LINEAGE, { id: child.token.id }, { token: child.secret });
    expect(self.data.token.parent).toBeNull();
    expect(self.data.token.children).toEqual([{ id: grandchild.token.id, name: 'grandchild' }]);
  });

  it('revoking a parent revokes every descendant in the same transaction', async () => {
    const { owner, parent } = await family();
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tokens.*'], expiresInDays: 20 });
    const grandchild = await mintToken(t, child.secret, { name: 'grandchild', expiresInDays: 10 });
    const unrelated = await mintToken(t, owner.jwt, { name: 'unrelated' });
    await revokeToken(t, owner.jwt, { id: parent.token.id, reason: 'Rotating CI' });
    const state = async (id: string) => (await t.gql(LINEAGE, { id }, { token: owner.jwt })).data.token;
    expect((await state(parent.token.id)).revocation.reason).toBe('Rotating CI');
    for (const descendant of [child, grandchild]) {
      expect(await state(descendant.token.id)).toMatchObject({ status: 'REVOKED', revocation: { reason: 'Parent token revoked' } });
      expect((await t.gql(VIEWER, {}, { token: descendant.secret })).status).toBe(401);
    }
    expect((await state(unrelated.token.id)).status).toBe('ACTIVE');
  });

  it('a narrowed parent narrows its children at once', async () => {
    const { owner, parent } = await family(['tokens.*', 'tools.read', 'files.read']);
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tools.read', 'files.read'] });
    await updateToken(t, owner.jwt, { id: parent.token.id, permissions: ['tokens.*', 'tools.read'] });
    const held = await t.gql(VIEWER, {}, { token: child.secret });
    expect(held.data.viewer.permissions).toEqual(['tools.read']);
  });
});

describe('updates with an API token may only narrow', () => {
  async function managed(input: Record<string, unknown>) {
    const { parent } = await family(['tokens.*', 'tools.*']);
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tools.read', 'tools.write'], ...input });
    expect(child.__typename).toBe('MintTokenPayload');
    return { manager: parent.secret, child };
  }

  it('permissions: a subset is fine, anything else is refused', async () => {
    const { manager, child } = await managed({});
    expect((await updateToken(t, manager, { id: child.token.id, permissions: ['tools.read'] })).__typename).toBe('UpdateTokenPayload');
    const widened = await updateToken(t, manager, { id: child.token.id, permissions: ['tools.read', 'tools.execute'] });
    expect(widened.__typename).toBe('ValidationError');
    expect((await updateToken(t, manager, { id: child.token.id, permissions: [] })).__typename).toBe('ValidationError');
  });

  it('restrictions: kept or tightened', async () => {
    const { manager, child } = await managed({
      ipRestrictions: ['10.0.0.0/8'],
      serverId: 'mcp',
      usageLimits: { requestsPerMinute: 100 },
      timeRestrictions: { startTime: '08:00', endTime: '20:00' },
    });
    const id = child.token.id;
    const refused = async (input: Record<string, unknown>) => (await updateToken(t, manager, { id, ...input })).__typename;
    expect(await refused({ ipRestrictions: ['10.1.0.0/16'] })).toBe('UpdateTokenPayload');
    expect(await refused({ ipRestrictions: ['192.168.0.0/16'] })).toBe('ValidationError');
    expect(await refused({ ipRestrictions: [] })).toBe('ValidationError');
    expect(await refused({ serverId: 'other' })).toBe('ValidationError');
    expect(await refused({ serverId: null })).toBe('ValidationError');
    expect(await refused({ usageLimits: { requestsPerMinute: 10 } })).toBe('UpdateTokenPayload');
    expect(await refused({ usageLimits: { requestsPerMinute: 50 } })).toBe('ValidationError');
    expect(await refused({ usageLimits: null })).toBe('ValidationError');
    expect(await refused({ timeRestrictions: { startTime: '09:00', endTime: '17:00' } })).toBe('UpdateTokenPayload');
    expect(await refused({ timeRestrictions: { startTime: '07:00', endTime: '17:00' } })).toBe('ValidationError');
    expect(await refused({ timeRestrictions: null })).toBe('ValidationError');
  });

  it('expiry: sooner is fine, later is refused', async () => {
    const { manager, child } = await managed({ expiresInDays: 10 });
    expect((await updateToken(t, manager, { id: child.token.id, expiresInDays: 5 })).__typename).toBe('UpdateTokenPayload');
    expect((await updateToken(t, manager, { id: child.token.id, expiresInDays: 20 })).__typename).toBe('ValidationError');
  });

  it("the owner's session may change a child, but not beyond its parent's expiry", async () => {
    const { owner, parent } = await family(['tokens.*'], 10);
    const child = await mintToken(t, parent.secret, { name: 'child', expiresInDays: 5 });
    expect((await updateToken(t, owner.jwt, { id: child.token.id, expiresInDays: 8 })).__typename).toBe('UpdateTokenPayload');
    const beyond = await updateToken(t, owner.jwt, { id: child.token.id, expiresAt: new Date(Date.now() + 20 * DAY).toISOString() });
    expect(beyond.__typename).toBe('ValidationError');
  });
});

describe('a token never outlives its lineage', () => {
  const EXPIRY = `query($id: ID!) { token(id: $id) { expiresAt status } }`;

  it("shortening a parent's expiry brings its descendants' down with it, audited and enforced at verification", async () => {
    const { owner, parent } = await family(['tokens.*', 'tools.read'], 60);
    const child = await mintToken(t, parent.secret, { name: 'child', permissions: ['tokens.*', 'tools.read'], expiresInDays: 30 });
    const grandchild = await mintToken(t, child.secret, { name: 'grandchild', permissions: ['tools.read'], expiresInDays: 20 });
    const early = await mintToken(t, parent.secret, { name: 'early', permissions: ['tools.read'], expiresInDays: 1 });
    const caller = (await resourceServer(t)).secret;
    expect((await verifyToken(t, caller, { token: grandchild.secret })).outcome).toBe('VALID');

    const soon = new Date(Date.now() + 2 * DAY).toISOString();
    expect((await updateToken(t, owner.jwt, { id: parent.token.id, expiresAt: soon })).__typename).toBe('UpdateTokenPayload');
    for (const token of [child, grandchild]) {
      expect((await t.gql(EXPIRY, { id: token.token.id }, { token: owner.jwt })).data.token.expiresAt).toBe(soon);
    }
    // A descendant that already expired sooner keeps its own expiry.
    expect((await t.gql(EXPIRY, { id: early.token.id }, { token: owner.jwt })).data.token.expiresAt).toBe(early.token.expiresAt);
    // Verification sees the new expiry at once (the cached entry was dropped), and the change is in the trail.
    const verified = await verifyToken(t, caller, { token: grandchild.secret });
    expect(verified.expiresAt).toBe(soon);
    const audit = await t.gql(
      `query($id: ID!) { auditEvents(filter: { tokenId: $id }) { edges { node { action changes } } } }`,
      { id: grandchild.token.id },
      { token: owner.jwt },
    );
    expect(audit.data.auditEvents.edges[0].node).toMatchObject({ action: 'TOKEN_UPDATED', changes: { reason: 'an ancestor expires sooner' } });
  });

  it('once the parent has expired, its children are EXPIRED too, in lists and at verification', async () => {
    const clock = testClock();
    const clocked = await createTestApp({ clock });
    try {
      const owner = await clocked.user({ permissions: ['tools.*', 'tokens.*'] });
      const parent = await mintToken(clocked, owner.jwt, { name: 'parent', permissions: ['tokens.*', 'tools.read'], expiresInDays: 60 });
      const child = await mintToken(clocked, parent.secret, { name: 'child', permissions: ['tools.read'], expiresInDays: 30 });
      const inOneDay = new Date(clock.now() + DAY).toISOString();
      await updateToken(clocked, owner.jwt, { id: parent.token.id, expiresAt: inOneDay });
      clock.advanceDays(2);
      const view = await clocked.gql(EXPIRY, { id: child.token.id }, { token: owner.jwt });
      expect(view.data.token.status).toBe('EXPIRED');
      const caller = (await resourceServer(clocked)).secret;
      expect((await verifyToken(clocked, caller, { token: child.secret })).outcome).toBe('EXPIRED');
    } finally {
      await clocked.close();
    }
  });

  it('a child minted while its parent is being shortened cannot end up outliving it', async () => {
    const { owner, parent } = await family(['tokens.*', 'tools.read'], 60);
    const soon = new Date(Date.now() + DAY).toISOString();
    const [minted] = await Promise.all([
      mintToken(t, parent.secret, { name: 'racing', permissions: ['tools.read'], expiresInDays: 30 }),
      updateToken(t, owner.jwt, { id: parent.token.id, expiresAt: soon }),
    ]);
    if (minted.__typename === 'MintTokenPayload') {
      const view = await t.gql(EXPIRY, { id: minted.token.id }, { token: owner.jwt });
      expect(Date.parse(view.data.token.expiresAt)).toBeLessThanOrEqual(Date.parse(soon));
    } else {
      expect(minted.__typename).toBe('ValidationError');
    }
  });
});

describe('verification holds the lineage even where a cascade missed a child', () => {
  // The child is left as it was and only its parent changed in the database, as if a cascade had
  // not reached it: verification reads the ancestors itself.
  it('a child of a revoked parent is REVOKED, and of an expired parent EXPIRED', async () => {
    const { parent } = await family(['tokens.*', 'tools.read'], 60);
    const revokedChild = await mintToken(t, parent.secret, { name: 'orphaned', permissions: ['tools.read'], expiresInDays: 30 });
    const { parent: other } = await family(['tokens.*', 'tools.read'], 60);
    const expiredChild = await mintToken(t, other.secret, { name: 'outlived', permissions: ['tools.read'], expiresInDays: 30 });
    const caller = (await resourceServer(t)).secret;
    const connection = t.orm.em.getConnection();
    await connection.execute(`update tokens set revoked_at = now() where id = ?`, [parent.token.id.slice('tok_'.length)]);
    await connection.execute(`update tokens set expires_at = now() - interval '1 minute' where id = ?`, [other.token.id.slice('tok_'.length)]);
    t.app.verifier.forgetToken(revokedChild.token.id.slice('tok_'.length));
    t.app.verifier.forgetToken(expiredChild.token.id.slice('tok_'.length));
    expect((await verifyToken(t, caller, { token: revokedChild.secret })).outcome).toBe('REVOKED');
    expect((await verifyToken(t, caller, { token: expiredChild.secret })).outcome).toBe('EXPIRED');
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('a set-based revocation racing a mint (PostgreSQL server)', () => {
  it('the panic button also takes a child whose mint committed while it waited', async () => {
    const { owner, parent } = await family(['tokens.*', 'tools.read'], 60);
    const parentId = parent.token.id.slice('tok_'.length);
    // A mint in flight: it holds its parent's row, as TokenService.mint does, and inserts the child.
    const minting = new pg.Client({ connectionString: (t.target as { url: string }).url });
    await minting.connect();
    try {
      await minting.query('begin');
      await minting.query('select id from tokens where id = $1 for share', [parentId]);
      const child = await minting.query(
        `insert into tokens (id, owner_id, team_id, name, prefix, secret_hash, permissions, created_at, updated_at, expires_at, ancestor_ids, parent_id)
         select gen_random_uuid(), owner_id, team_id, 'racing', prefix, md5(random()::text), permissions, now(), now(), expires_at, array[id], id
         from tokens where id = $1 returning id`,
        [parentId],
      );
      const panic = t.gql(`mutation { revokeAllMyTokens(input: {}) { ... on RevokeAllMyTokensPayload { revokedCount } } }`, {}, { token: owner.jwt });
      // The revocation now waits on the parent's row; the mint commits.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await minting.query('commit');
      await panic;
      const [row] = await t.orm.em.getConnection().execute<{ revoked_at: Date | null }[]>('select revoked_at from tokens where id = ?', [child.rows[0].id]);
      expect(row?.revoked_at).not.toBeNull();
    } finally {
      await minting.end();
    }
  });
});

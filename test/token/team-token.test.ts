import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, mintToken, seedTeam, type TestApp } from '../harness.js';

/**
 * Teams are managed by the teams feature; here they are seeded directly, to check what the
 * foundation already does with them: team tokens for members, teams hidden from outsiders.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('team tokens', () => {
  it('a member mints a team token; the name is unique per team, separately from personal tokens', async () => {
    const alice = await t.user();
    const teamId = await seedTeam(t, 'Platform', [{ user: alice, role: 'MEMBER' }]);
    const minted = await mintToken(t, alice.jwt, { name: 'deploy', teamId });
    expect(minted.__typename).toBe('MintTokenPayload');
    expect(minted.token.team).toEqual({ id: teamId, name: 'Platform' });
    expect((await mintToken(t, alice.jwt, { name: 'deploy' })).__typename).toBe('MintTokenPayload');
    expect((await mintToken(t, alice.jwt, { name: 'deploy', teamId })).__typename).toBe('ConflictError');
  });

  it('a non-member cannot mint in the team, and the refusal is the same as for a missing team', async () => {
    const [alice, mallory] = [await t.user(), await t.user()];
    const teamId = await seedTeam(t, 'Private', [{ user: alice, role: 'MEMBER' }]);
    const refused = await mintToken(t, mallory.jwt, { name: 'sneaky', teamId });
    const missing = await mintToken(t, mallory.jwt, { name: 'sneaky', teamId: `team_${randomUUID()}` });
    expect(refused).toEqual({ __typename: 'NotFoundError', message: 'Team not found' });
    expect(missing).toEqual(refused);
  });

  it('node(id) shows a team to its members only', async () => {
    const [alice, bob] = [await t.user(), await t.user()];
    const teamId = await seedTeam(t, 'Infra', [{ user: alice, role: 'MEMBER' }]);
    const query = `query($id: ID!) { node(id: $id) { __typename id ... on Team { name } } }`;
    expect((await t.gql(query, { id: teamId }, { token: alice.jwt })).data.node).toEqual({
      __typename: 'Team',
      id: teamId,
      name: 'Infra',
    });
    expect((await t.gql(query, { id: teamId }, { token: bob.jwt })).body).toEqual({ data: { node: null } });
  });
});

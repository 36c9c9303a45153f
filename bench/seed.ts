import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { generateSecret } from '../src/modules/token/token.secret.js';

/**
 * Fills the database the way a heavy user's account would look after a long time: many tokens,
 * some in teams, some revoked, spread over time so that every page mixes all three. Rows go in
 * with multi-row INSERTs; minting 10,000 tokens through the API would take longer than the
 * benchmark itself and measure something else.
 */

export interface SeedPlan {
  ownerId: string;
  tokenPrefix: string;
  tokens: number;
  teams: number;
  /** Every n-th token is revoked (and has its Revocation row); the rest stay active. */
  revokeEvery: number;
  /** Rows per INSERT statement. */
  batchSize: number;
}

export interface SeedSummary {
  tokens: number;
  revoked: number;
  inTeams: number;
  teams: number;
}

const DAY_MS = 24 * 3600 * 1000;
/** Newest token first in the list is the last one seeded; older ones are a minute apart. */
const CREATED_STEP_MS = 60 * 1000;

export async function seedTokens(orm: MikroORM, plan: SeedPlan): Promise<SeedSummary> {
  const connection = orm.em.getConnection();
  const now = Date.now();
  const teamIds = await seedTeams(orm, plan.ownerId, plan.teams, new Date(now));

  let revoked = 0;
  let inTeams = 0;
  for (let start = 0; start < plan.tokens; start += plan.batchSize) {
    const end = Math.min(start + plan.batchSize, plan.tokens);
    const tokenRows: unknown[][] = [];
    const revocationRows: unknown[][] = [];
    for (let i = start; i < end; i += 1) {
      const id = randomUUID();
      const { hash, displayPrefix } = generateSecret(plan.tokenPrefix);
      const createdAt = new Date(now - (plan.tokens - i) * CREATED_STEP_MS);
      // Cycling through "no team" and each team puts team tokens on every page.
      const slot = i % (teamIds.length + 1);
      const teamId = slot === 0 ? null : teamIds[slot - 1]!;
      const revokedAt = i % plan.revokeEvery === 0 ? new Date(createdAt.getTime() + 1000) : null;
      tokenRows.push([
        id,
        plan.ownerId,
        teamId,
        `bench-token-${String(i).padStart(5, '0')}`,
        displayPrefix,
        hash,
        createdAt,
        revokedAt ?? createdAt,
        new Date(now + 365 * DAY_MS),
        revokedAt,
      ]);
      if (teamId) inTeams += 1;
      if (revokedAt) {
        revoked += 1;
        revocationRows.push([randomUUID(), id, revokedAt, 'bench@example.com', 'seeded by the benchmark']);
      }
    }
    await insertRows(
      connection,
      'tokens',
      ['id', 'owner_id', 'team_id', 'name', 'prefix', 'secret_hash', 'created_at', 'updated_at', 'expires_at', 'revoked_at'],
      tokenRows,
    );
    await insertRows(connection, 'revocations', ['id', 'token_id', 'revoked_at', 'revoked_by', 'reason'], revocationRows);
  }
  // Fresh statistics, so the planner sees 10,000 rows and not the empty tables of a moment ago.
  await connection.execute('analyze users, teams, team_members, tokens, revocations');
  return { tokens: plan.tokens, revoked, inTeams, teams: teamIds.length };
}

async function seedTeams(orm: MikroORM, ownerId: string, count: number, now: Date): Promise<string[]> {
  const connection = orm.em.getConnection();
  const teamIds = Array.from({ length: count }, () => randomUUID());
  await insertRows(
    connection,
    'teams',
    ['id', 'name', 'slug', 'created_at'],
    teamIds.map((id, i) => [id, `Bench team ${i + 1}`, `bench-team-${i + 1}`, now]),
  );
  await insertRows(
    connection,
    'team_members',
    ['team_id', 'user_id', 'role', 'joined_at'],
    teamIds.map((id) => [id, ownerId, 'OWNER', now]),
  );
  return teamIds;
}

type Connection = ReturnType<MikroORM['em']['getConnection']>;

async function insertRows(connection: Connection, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${rows.map(() => tuple).join(', ')}`;
  await connection.execute(sql, rows.flat(), 'run');
}

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

export interface VerifiableToken {
  /** Database id. */
  id: string;
  secret: string;
}

/**
 * Active personal tokens whose secrets the benchmark keeps, so that it can present them: no
 * restrictions, no limits, an empty permission list (the owner's), expiring in a year.
 */
export async function seedVerifiableTokens(
  orm: MikroORM,
  plan: { ownerId: string; tokenPrefix: string; tokens: number; batchSize: number; namePrefix: string },
): Promise<VerifiableToken[]> {
  const connection = orm.em.getConnection();
  const now = Date.now();
  const seeded: VerifiableToken[] = [];
  for (let start = 0; start < plan.tokens; start += plan.batchSize) {
    const rows: unknown[][] = [];
    for (let i = start; i < Math.min(start + plan.batchSize, plan.tokens); i += 1) {
      const id = randomUUID();
      const { secret, hash, displayPrefix } = generateSecret(plan.tokenPrefix);
      const createdAt = new Date(now - (plan.tokens - i) * CREATED_STEP_MS);
      rows.push([id, plan.ownerId, `${plan.namePrefix}-${String(i).padStart(5, '0')}`, displayPrefix, hash, createdAt, createdAt, new Date(now + 365 * DAY_MS)]);
      seeded.push({ id, secret });
    }
    await insertRows(connection, 'tokens', ['id', 'owner_id', 'name', 'prefix', 'secret_hash', 'created_at', 'updated_at', 'expires_at'], rows);
  }
  await connection.execute('analyze tokens');
  return seeded;
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

export interface UsageSeedPlan {
  /**
   * Whose events: one token's, or spread over an owner's tokens, token k of n (newest first)
   * picked with a probability falling like 1/sqrt(k), so a few are busy and most are quiet.
   */
  tokens: { tokenId: string } | { ownerId: string };
  events: number;
  /** The events are spread evenly from `since` to `until`, oldest first. */
  since: Date;
  until: Date;
  signal: AbortSignal;
}

/** Rows per INSERT ... SELECT: progress can be interrupted between them. */
const USAGE_SEED_CHUNK = 100_000;

/**
 * A token's usage history, generated by the database itself (INSERT ... SELECT over
 * generate_series): a million rows through the UsageRecorder would take minutes and measure
 * the ingestion instead. The mix: 88% VALID, most with a reported status (mostly 200, some 201,
 * 404, 500) and response time; the rest refused for five reasons; 12 endpoints, a few of them
 * busy; three methods. Then VACUUM ANALYZE, as autovacuum would do in time, so that neither a
 * stale plan nor an autovacuum run in the middle of the measurement skews it.
 */
export async function seedUsageEvents(orm: MikroORM, plan: UsageSeedPlan): Promise<void> {
  const connection = orm.em.getConnection();
  const spanMs = plan.until.getTime() - plan.since.getTime();
  for (let start = 0; start < plan.events && !plan.signal.aborted; start += USAGE_SEED_CHUNK) {
    const end = Math.min(start + USAGE_SEED_CHUNK, plan.events);
    const spread = 'ownerId' in plan.tokens;
    await connection.execute(
      `${spread ? 'with owned as (select array_agg(id order by created_at desc, id desc) as ids from tokens where owner_id = ?)' : ''}
       insert into usage_events (id, token_id, occurred_at, endpoint, method, client_ip, user_agent, outcome, blocked, block_reason, status_code, response_time_ms)
       select gen_random_uuid(),
         ${spread ? 'owned.ids[1 + least(cardinality(owned.ids) - 1, floor(r.t * r.t * cardinality(owned.ids))::int)]' : '?::uuid'},
         ?::timestamptz + (g::double precision * ? / ?) * interval '1 millisecond',
         (array['/api/users', '/api/orders', '/api/orders/:id', '/api/invoices', '/api/search', '/api/reports',
                '/api/files', '/api/files/:id', '/api/health', '/api/teams', '/api/audit', '/api/export'])[1 + least(11, floor(-ln(1 - r.e) * 3)::int)],
         (array['GET', 'GET', 'GET', 'POST', 'DELETE'])[1 + g % 5],
         '10.0.' || (g / 256) % 256 || '.' || g % 256,
         'bench-resource-server/1.0 node/20',
         r.outcome, r.outcome <> 'VALID',
         case when r.outcome <> 'VALID' then 'refused: ' || lower(r.outcome) end,
         case when r.outcome = 'VALID' and g % 10 < 7 then (array[200, 200, 200, 200, 200, 200, 201, 404, 404, 500])[1 + g % 10 + (g / 10) % 4] end,
         case when r.outcome = 'VALID' and g % 10 < 7 then 2 + r.e * 40 end
       from ${spread ? 'owned, ' : ''}generate_series(?::int, ?::int) as g,
         lateral (select random() as e, random() as t,
           case when g % 100 < 88 then 'VALID'
                when g % 100 < 92 then 'RATE_LIMITED'
                when g % 100 < 95 then 'INSUFFICIENT_PERMISSIONS'
                when g % 100 < 97 then 'IP_NOT_ALLOWED'
                when g % 100 < 99 then 'OUTSIDE_TIME_WINDOW'
                else 'EXPIRED' end as outcome) as r`,
      ['ownerId' in plan.tokens ? plan.tokens.ownerId : plan.tokens.tokenId, plan.since, spanMs, plan.events, start, end - 1],
      'run',
    );
  }
  if (plan.signal.aborted) return;
  await connection.execute('vacuum analyze usage_events');
}

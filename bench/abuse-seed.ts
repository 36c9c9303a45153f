import { performance } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import { encodeGlobalId } from '../src/global-id.js';
import { seedTokens, seedUsageEvents, type SeedSummary } from './seed.js';

/**
 * The account the `abuse` suite attacks with: one user with what a busy account holds, so that
 * every field an operation can ask for has real work behind it. 300 tokens (a third personal, a
 * third in each of two teams, every tenth revoked: bench/seed.ts), the oldest hundred minted by
 * the newest ones (so `children` finds some), and a retention period's worth of usage events
 * spread over the tokens, the newest busiest: 200,000 on a server (a page of the 100 newest tokens
 * then holds about 115,000 of them, and each team a third), 100,000 on PGlite.
 */

export const ABUSE_TOKENS = 300;
export const ABUSE_TEAMS = 2;
/** Usage events on a server; PGlite holds them in the App's memory and scans them on its thread, so half. */
export const ABUSE_EVENTS = { server: 200_000, embedded: 100_000 } as const;
/** The service's default USAGE_RETENTION_DAYS: older events would have been pruned. */
export const ABUSE_EVENT_DAYS = 90;
/** Rows per INSERT ... SELECT. */
const DAY_MS = 86_400_000;

export interface AbuseSeed extends SeedSummary {
  /** Tokens with a parent among the user's tokens. */
  children: number;
  events: number;
  eventDays: number;
  /** Global ids of the user's teams (which they own), in name order. */
  teamIds: string[];
  seconds: number;
}

export async function seedAbuseAccount(
  orm: MikroORM,
  plan: { ownerId: string; tokenPrefix: string; database: keyof typeof ABUSE_EVENTS },
): Promise<AbuseSeed> {
  const started = performance.now();
  const summary = await seedTokens(orm, {
    ownerId: plan.ownerId,
    tokenPrefix: plan.tokenPrefix,
    tokens: ABUSE_TOKENS,
    teams: ABUSE_TEAMS,
    revokeEvery: 10,
    batchSize: ABUSE_TOKENS,
  });
  const connection = orm.em.getConnection();
  const children = await linkChildren(orm, plan.ownerId);
  const events = ABUSE_EVENTS[plan.database];
  // Evenly over the retention period, busiest on the newest tokens (usage_events is vacuumed there).
  const until = new Date();
  await seedUsageEvents(orm, {
    tokens: { ownerId: plan.ownerId },
    events,
    since: new Date(until.getTime() - ABUSE_EVENT_DAYS * DAY_MS),
    until,
    signal: new AbortController().signal,
  });
  await connection.execute('vacuum analyze tokens');
  const teams = await connection.execute<{ id: string }[]>(
    'select t.id from teams t join team_members m on m.team_id = t.id where m.user_id = ? order by t.name',
    [plan.ownerId],
  );
  return {
    ...summary,
    children,
    events,
    eventDays: ABUSE_EVENT_DAYS,
    teamIds: teams.map((team) => encodeGlobalId('Team', team.id)),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Token n (newest first) minted token n + 201, for the oldest 99: parent and child then fall in
 * the same team slot of seedTokens' cycle (201 is a multiple of 3), as a token minted by a team
 * token would.
 */
async function linkChildren(orm: MikroORM, ownerId: string): Promise<number> {
  const linked = await orm.em.getConnection().execute<{ n: number }[]>(
    `with ranked as (select id, row_number() over (order by created_at desc, id desc) as n from tokens where owner_id = ?),
     linked as (
       update tokens t set parent_id = p.id, ancestor_ids = array[p.id]
       from ranked c join ranked p on p.n = c.n - 201
       where t.id = c.id
       returning t.id
     )
     select count(*)::int as n from linked`,
    [ownerId],
  );
  return linked[0]?.n ?? 0;
}


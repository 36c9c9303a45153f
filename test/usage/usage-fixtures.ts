import { randomUUID } from 'node:crypto';
import { dbId, type TestApp } from '../harness.js';

/** Helpers shared by the usage tests: seeding events directly with SQL, reading them back. */

export interface SeedEvent {
  /** An ISO instant, e.g. 2026-03-15T11:59:00.000Z. */
  at: string;
  endpoint?: string | null;
  method?: string | null;
  outcome?: string;
  /** Defaults to outcome !== 'VALID'. */
  blocked?: boolean;
  blockReason?: string | null;
  statusCode?: number | null;
  responseTimeMs?: number | null;
}

export async function insertEvents(t: TestApp, tokenGlobalId: string, events: SeedEvent[]): Promise<void> {
  const connection = t.orm.em.getConnection();
  for (const e of events) {
    const outcome = e.outcome ?? 'VALID';
    const blocked = e.blocked ?? outcome !== 'VALID';
    await connection.execute(
      `insert into usage_events (id, token_id, occurred_at, endpoint, method, client_ip, user_agent, outcome, blocked, block_reason, status_code, response_time_ms)
       values (?, ?, ?::timestamptz, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        randomUUID(),
        dbId(tokenGlobalId),
        e.at,
        e.endpoint === undefined ? '/default' : e.endpoint,
        e.method === undefined ? 'GET' : e.method,
        '198.51.100.1',
        'seed/1.0',
        outcome,
        blocked,
        e.blockReason === undefined ? (blocked ? `refused: ${outcome}` : null) : e.blockReason,
        e.statusCode ?? null,
        e.responseTimeMs ?? null,
      ],
    );
  }
}

export interface EventRow {
  id: string;
  token_id: string;
  occurred_at: Date;
  endpoint: string | null;
  method: string | null;
  client_ip: string | null;
  user_agent: string | null;
  outcome: string;
  blocked: boolean;
  block_reason: string | null;
  status_code: number | null;
  response_time_ms: number | null;
}

/** The stored events of one token, oldest first. */
export async function eventsOf(t: TestApp, tokenGlobalId: string): Promise<EventRow[]> {
  return t.orm.em
    .getConnection()
    .execute<EventRow[]>(`select * from usage_events where token_id = ? order by occurred_at, id`, [dbId(tokenGlobalId)]);
}

export async function eventById(t: TestApp, id: string): Promise<EventRow | undefined> {
  const rows = await t.orm.em.getConnection().execute<EventRow[]>(`select * from usage_events where id = ?`, [id]);
  return rows[0];
}

export async function countEvents(t: TestApp, tokenGlobalId?: string): Promise<number> {
  const rows = tokenGlobalId
    ? await t.orm.em
        .getConnection()
        .execute<{ n: number }[]>(`select count(*)::int as n from usage_events where token_id = ?`, [dbId(tokenGlobalId)])
    : await t.orm.em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from usage_events`);
  return Number(rows[0]!.n);
}

/** Every field of UsageStats, for queries that read them all. */
export const STATS_FIELDS = /* GraphQL */ `
  periodDays totalRequests successfulRequests blockedRequests successRate averageResponseTimeMs
  topEndpoints { endpoint count }
  blockReasons { reason count }
  daily { date totalRequests blockedRequests }
`;

/** n zero-filled daily rows, oldest first, ending on `lastDate` (YYYY-MM-DD). */
export function zeroDays(lastDate: string, n: number): { date: string; totalRequests: number; blockedRequests: number }[] {
  const last = Date.parse(`${lastDate}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => ({
    date: new Date(last - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10),
    totalRequests: 0,
    blockedRequests: 0,
  }));
}

/** The figures of a period without a single use, ending on `lastDate`. */
export function noUse(lastDate: string, days: number) {
  return {
    periodDays: days,
    totalRequests: 0,
    successfulRequests: 0,
    blockedRequests: 0,
    successRate: 0,
    averageResponseTimeMs: null,
    topEndpoints: [],
    blockReasons: [],
    daily: zeroDays(lastDate, days),
  };
}

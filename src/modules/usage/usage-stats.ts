import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Usage figures over a period of whole UTC days (today included), computed in SQL with
 * aggregates and GROUP BY over the (token_id, occurred_at) index: events are never loaded.
 */

export interface EndpointCount {
  endpoint: string;
  count: number;
}

export interface BlockReasonCount {
  reason: string;
  count: number;
}

export interface DailyUsage {
  /** YYYY-MM-DD, UTC. */
  date: string;
  totalRequests: number;
  blockedRequests: number;
}

export interface UsageStats {
  periodDays: number;
  totalRequests: number;
  successfulRequests: number;
  blockedRequests: number;
  successRate: number;
  averageResponseTimeMs: number | null;
  /** The busiest endpoints, most used first, at most TOP_ENDPOINTS_KEPT. */
  endpoints: EndpointCount[];
  blockReasons: BlockReasonCount[];
  daily: DailyUsage[];
}

/** Whose usage: some tokens (one figure each), or all tokens of an owner or a team (one figure). */
export type UsageScope =
  | { kind: 'tokens'; tokenIds: readonly string[] }
  | { kind: 'owner'; userId: string }
  | { kind: 'team'; teamId: string };

export const MAX_TOP_ENDPOINTS = 100;
export const MAX_PERIOD_DAYS = 366;
const DAY_MS = 86_400_000;
/** The key under which a whole owner's or team's figures come back. */
export const WHOLE_SCOPE = '*';

export interface Period {
  days: number;
  /** Midnight UTC at the start of the first day. */
  since: Date;
  /** Midnight UTC at the end of today: events after it (a clock running ahead) are not in the period. */
  until: Date;
  /** Every day of the period, oldest first, as YYYY-MM-DD. */
  dates: string[];
}

export function periodEnding(now: Date, days: number): Period {
  const todayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const since = new Date(todayStart - (days - 1) * DAY_MS);
  const dates = Array.from({ length: days }, (_, i) => new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10));
  return { days, since, until: new Date(todayStart + DAY_MS), dates };
}

function scopeFilter(scope: UsageScope): { where: string; params: unknown[]; key: string } {
  switch (scope.kind) {
    case 'tokens':
      return { where: 'e.token_id in (?)', params: [[...scope.tokenIds]], key: 'e.token_id::text' };
    case 'owner':
      return { where: 'e.token_id in (select id from tokens where owner_id = ?)', params: [scope.userId], key: `'${WHOLE_SCOPE}'` };
    case 'team':
      return { where: 'e.token_id in (select id from tokens where team_id = ?)', params: [scope.teamId], key: `'${WHOLE_SCOPE}'` };
  }
}

/** Figures for each key of the scope (token ids, or WHOLE_SCOPE), zero-filled where there were no events. */
export async function usageStats(em: EntityManager, scope: UsageScope, period: Period): Promise<Map<string, UsageStats>> {
  const keys = scope.kind === 'tokens' ? [...new Set(scope.tokenIds)] : [WHOLE_SCOPE];
  const result = new Map(keys.map((key) => [key, emptyStats(period)]));
  if (keys.length === 0) return result;

  const { where, params, key } = scopeFilter(scope);
  const filter = `${where} and e.occurred_at >= ? and e.occurred_at < ?`;
  const args = [...params, period.since, period.until];
  const connection = em.getConnection();

  const [totals, endpoints, reasons, daily] = await Promise.all([
    connection.execute<{ k: string; total: number; successful: number; blocked: number; avg_ms: number | null }[]>(
      `select ${key} as k, count(*)::int as total,
         count(*) filter (where case when e.status_code is not null then e.status_code < 400 else e.outcome = 'VALID' end)::int as successful,
         count(*) filter (where e.blocked)::int as blocked,
         avg(e.response_time_ms)::double precision as avg_ms
       from usage_events e where ${filter} group by 1`,
      args,
    ),
    connection.execute<{ k: string; endpoint: string; count: number }[]>(
      `select k, endpoint, count from (
         select ${key} as k, e.endpoint, count(*)::int as count,
           row_number() over (partition by ${key} order by count(*) desc, e.endpoint) as rank
         from usage_events e where ${filter} and e.endpoint is not null group by 1, 2
       ) ranked where rank <= ${MAX_TOP_ENDPOINTS} order by k, count desc, endpoint`,
      args,
    ),
    connection.execute<{ k: string; reason: string; count: number }[]>(
      `select ${key} as k, e.outcome as reason, count(*)::int as count
       from usage_events e where ${filter} and e.blocked group by 1, 2 order by 1, 3 desc, 2`,
      args,
    ),
    connection.execute<{ k: string; date: string; total: number; blocked: number }[]>(
      `select ${key} as k, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD') as date,
         count(*)::int as total, count(*) filter (where e.blocked)::int as blocked
       from usage_events e where ${filter} group by 1, 2`,
      args,
    ),
  ]);

  for (const row of totals) {
    const stats = result.get(row.k);
    if (!stats) continue;
    stats.totalRequests = row.total;
    stats.successfulRequests = row.successful;
    stats.blockedRequests = row.blocked;
    stats.successRate = row.total === 0 ? 0 : row.successful / row.total;
    stats.averageResponseTimeMs = row.avg_ms === null ? null : Number(row.avg_ms);
  }
  for (const row of endpoints) result.get(row.k)?.endpoints.push({ endpoint: row.endpoint, count: row.count });
  for (const row of reasons) result.get(row.k)?.blockReasons.push({ reason: row.reason, count: row.count });
  for (const row of daily) {
    const day = result.get(row.k)?.daily.find((d) => d.date === row.date);
    if (day) {
      day.totalRequests = row.total;
      day.blockedRequests = row.blocked;
    }
  }
  return result;
}

function emptyStats(period: Period): UsageStats {
  return {
    periodDays: period.days,
    totalRequests: 0,
    successfulRequests: 0,
    blockedRequests: 0,
    successRate: 0,
    averageResponseTimeMs: null,
    endpoints: [],
    blockReasons: [],
    daily: period.dates.map((date) => ({ date, totalRequests: 0, blockedRequests: 0 })),
  };
}

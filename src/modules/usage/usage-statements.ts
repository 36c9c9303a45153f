import type { PendingEvent, UsageReport } from './pending-usage.js';
import { recordUsesStatement } from '../token/token.sql.js';

/** The SQL a usage flush sends: the events, their tokens' lastUsedAt and usageCount, and reports. */

/** SQL and one array per `?`. */
type Statement = [string, unknown[][]];

/**
 * Each statement binds one array per column and unnests it, so the SQL text is the same whatever
 * the batch and the driver sends the values as they are. connection.execute() would inline every
 * value into the SQL text instead, which costs this process more CPU per event than a cached
 * verification does.
 */
export function writeStatements(events: PendingEvent[], reports: UsageReport[]): Statement[] {
  const statements: Statement[] = [];
  if (events.length > 0) {
    statements.push([
      `insert into usage_events (id, token_id, occurred_at, endpoint, method, client_ip, user_agent, outcome, blocked, block_reason, status_code, response_time_ms)
       select * from unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
         ?::boolean[], ?::text[], ?::smallint[], ?::double precision[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.tokenId),
        events.map((e) => e.occurredAt),
        events.map((e) => e.endpoint),
        events.map((e) => e.method),
        events.map((e) => e.clientIp),
        events.map((e) => e.userAgent),
        events.map((e) => e.outcome),
        events.map((e) => e.blocked),
        events.map((e) => e.blockReason),
        events.map((e) => e.statusCode),
        events.map((e) => e.responseTimeMs),
      ],
    ]);
    const touched = tokenTouches(events);
    if (touched.length > 0) statements.push(recordUsesStatement(touched));
  }
  if (reports.length > 0) {
    statements.push([
      `update usage_events as e set status_code = v.status_code, response_time_ms = v.response_time_ms
       from unnest(?::uuid[], ?::smallint[], ?::double precision[]) as v(id, status_code, response_time_ms)
       where e.id = v.id and e.status_code is null`,
      [reports.map((r) => r.verificationId), reports.map((r) => r.statusCode), reports.map((r) => r.responseTimeMs)],
    ]);
  }
  return statements;
}

/** Per token: the latest VALID use and how many uses to add to usageCount. */
function tokenTouches(events: PendingEvent[]) {
  const byToken = new Map<string, { tokenId: string; lastUsedAt: Date; uses: number }>();
  for (const event of events) {
    if (event.outcome !== 'VALID') continue;
    const touch = byToken.get(event.tokenId) ?? { tokenId: event.tokenId, lastUsedAt: event.occurredAt, uses: 0 };
    if (event.occurredAt > touch.lastUsedAt) touch.lastUsedAt = event.occurredAt;
    if (event.countsTowardUsage) touch.uses += 1;
    byToken.set(event.tokenId, touch);
  }
  return [...byToken.values()];
}

import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Knex, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../logger.js';
import type { PendingEvent, UsageEventDraft, UsageReport } from './pending-usage.js';
import { isDatabaseUnavailable } from '../../db/availability.js';
import { writeStatements } from './usage-statements.js';

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  /** A flush starts as soon as this many events wait. */
  flushBatch: number;
  /** Beyond this, while the database is away, the oldest waiting events are dropped (and logged). */
  maxBuffered?: number;
}

const PRUNE_BATCH = 1_000;
/** Flushes are not requests: a backlog may take longer than DATABASE_STATEMENT_TIMEOUT_MS allows a request. */
const BACKGROUND_STATEMENT_TIMEOUT_MS = 60_000;

/**
 * Keeps usage writes off the request path: events wait in memory and go to PostgreSQL in
 * batches, by size and by time, together with the tokens' lastUsedAt and usageCount. close()
 * flushes what is left, so a clean stop loses nothing; a crash loses at most one interval.
 */
export class UsageRecorder {
  private events: PendingEvent[] = [];
  private waiting = new Map<string, PendingEvent>();
  /** Ids of events whose INSERT has started but not committed: known, and reported on by UPDATE. */
  private inFlight = new Set<string>();
  private reports: UsageReport[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** A flush by size is already queued: more events while it runs need no other. */
  private sizeFlushQueued = false;
  private readonly maxBuffered: number;
  /** Events given up on since start: refused by the database, or beyond the buffer during an outage. */
  private droppedCount = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: UsageRecorderOptions,
    private readonly logger: Logger,
  ) {
    this.maxBuffered = options.maxBuffered ?? Math.max(100_000, options.flushBatch * 10);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Queues an event and returns its id: the verificationId a resource server may report on. */
  record(draft: UsageEventDraft): string {
    // Field by field: properties added after a spread (`{ ...draft, id }`) are slow on V8.
    const event: PendingEvent = {
      id: randomUUID(),
      tokenId: draft.tokenId,
      occurredAt: draft.occurredAt,
      endpoint: draft.endpoint,
      method: draft.method,
      clientIp: draft.clientIp,
      userAgent: draft.userAgent,
      outcome: draft.outcome,
      blocked: draft.blocked,
      blockReason: draft.blockReason,
      countsTowardUsage: draft.countsTowardUsage,
      statusCode: null,
      responseTimeMs: null,
    };
    this.events.push(event);
    this.waiting.set(event.id, event);
    if (this.events.length >= this.options.flushBatch && !this.sizeFlushQueued) {
      this.sizeFlushQueued = true;
      void this.flush().finally(() => {
        this.sizeFlushQueued = false;
      });
    }
    return event.id;
  }

  /** Attaches a report to its event: in memory if still waiting, else at the next flush. */
  report(report: UsageReport): void {
    const event = this.waiting.get(report.verificationId);
    if (event) {
      if (event.statusCode === null) {
        event.statusCode = report.statusCode;
        event.responseTimeMs = report.responseTimeMs;
      }
      return;
    }
    this.reports.push(report);
    if (this.reports.length >= this.options.flushBatch) void this.flush();
  }

  /** Whether an event with this id is still waiting to be written. */
  isWaiting(id: string): boolean {
    return this.waiting.has(id) || this.inFlight.has(id);
  }

  get pending(): number {
    return this.events.length + this.reports.length;
  }

  /** How many events were given up on since start (each one logged). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Writes everything waiting. Flushes never overlap; each waits for the one before. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Deletes events older than the retention, in small batches that never hold the database long. */
  async prune(olderThan: Date): Promise<number> {
    const connection = this.orm.em.getConnection();
    let total = 0;
    for (;;) {
      const deleted = await connection.execute(
        `delete from usage_events where id in (select id from usage_events where occurred_at < ? limit ${PRUNE_BATCH})`,
        [olderThan],
        'run',
      );
      const count = (deleted as { affectedRows?: number }).affectedRows ?? 0;
      total += count;
      if (count < PRUNE_BATCH) return total;
      await yieldToEventLoop();
    }
  }

  private async writePending(): Promise<void> {
    if (this.events.length === 0 && this.reports.length === 0) return;
    const events = this.events;
    const reports = this.reports;
    this.events = [];
    this.reports = [];
    // From here on a report for these events is applied by UPDATE, after their INSERT.
    for (const event of events) {
      this.waiting.delete(event.id);
      this.inFlight.add(event.id);
    }
    try {
      // Every event is in before any report, which may be about any of them.
      const unwrittenEvents = await this.writeIsolating(events, (batch) => this.write(batch, []), (event) => ({ tokenId: event.tokenId }));
      const unwrittenReports = await this.writeIsolating(reports, (batch) => this.write([], batch), (report) => ({ verificationId: report.verificationId }));
      if (unwrittenEvents.length + unwrittenReports.length > 0) this.requeue(unwrittenEvents, unwrittenReports);
    } finally {
      for (const event of events) this.inFlight.delete(event.id);
    }
  }

  /**
   * Writes a batch; when the database refuses it for what it holds (a value it cannot store, a
   * token deleted meanwhile), splits it in halves until the refused items stand alone, writes all
   * the others and drops those, logged and counted. One bad event never stops the rest. Returns
   * what could not be written because the database is unreachable: kept for the next attempt.
   */
  private async writeIsolating<T>(items: T[], write: (batch: T[]) => Promise<void>, describe: (item: T) => object): Promise<T[]> {
    if (items.length === 0) return [];
    try {
      await write(items);
      return [];
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        this.logger.warn({ err: error, waiting: items.length + this.events.length }, 'usage flush failed: the database is unavailable; will retry');
        return items;
      }
      if (items.length === 1) {
        this.droppedCount += 1;
        this.logger.error(
          { err: error, dropped: 1, droppedTotal: this.droppedCount, ...describe(items[0]!) },
          'usage flush: the database refused a usage event or report; dropped it and kept the rest',
        );
        return [];
      }
      const half = Math.ceil(items.length / 2);
      const unwritten = await this.writeIsolating(items.slice(0, half), write, describe);
      // Unreachable now: the other half waits for the next attempt too (what was written stays written).
      if (unwritten.length > 0) return [...unwritten, ...items.slice(half)];
      return this.writeIsolating(items.slice(half), write, describe);
    }
  }

  private async write(events: PendingEvent[], reports: UsageReport[]): Promise<void> {
    await this.orm.em.getConnection().transactional(async (trx) => {
      // Background work may take longer than a request's statement timeout allows.
      await trx.raw(`set local statement_timeout = ${BACKGROUND_STATEMENT_TIMEOUT_MS}`);
      // Through the driver with bound arrays, not connection.execute(): see writeStatements.
      // A backlog (after an outage, or at shutdown) goes in batch-sized statements, never one huge one.
      const size = this.options.flushBatch;
      for (let i = 0; i < Math.max(events.length, reports.length); i += size) {
        for (const [sql, params] of writeStatements(events.slice(i, i + size), reports.slice(i, i + size))) {
          await trx.raw(sql, params as Knex.RawBinding[]);
        }
      }
    });
  }

  /** Keeps what the database could not take for the next attempt, oldest first, within the bound. */
  private requeue(events: PendingEvent[], reports: UsageReport[]): void {
    for (const event of events) this.waiting.set(event.id, event);
    this.events = [...events, ...this.events];
    this.reports = [...reports, ...this.reports];
    const overflow = this.events.length - this.maxBuffered;
    if (overflow > 0) {
      for (const dropped of this.events.splice(0, overflow)) this.waiting.delete(dropped.id);
      this.droppedCount += overflow;
      this.logger.error({ dropped: overflow, droppedTotal: this.droppedCount }, 'usage buffer full while the database is unavailable: oldest events dropped');
    }
  }
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { UsageRecorder } from './usage-recorder.js';
import type { UsageReport } from './pending-usage.js';

/**
 * What resource servers report after serving a verified request (its HTTP status and time),
 * through either door: the reportUsage mutation and POST /v1/usage. A report about a
 * verification Keymint never recorded is refused, not queued: it would change nothing, and a
 * caller could fill the buffer with them.
 */
export class UsageReports {
  constructor(
    private readonly recorder: UsageRecorder,
    /** For the ids that are no longer waiting in the recorder: already written, or never recorded. */
    private readonly em: () => EntityManager,
  ) {}

  /** Applies each report whose verification is known (at the next flush). Returns the unknown ids. */
  async report(reports: UsageReport[]): Promise<{ unknown: string[] }> {
    // Which are waiting is read once, before the query: an event whose flush ends while the query
    // runs is no longer waiting afterwards, and was not asked about, yet it is known.
    const waiting = new Set(reports.map((r) => r.verificationId).filter((id) => this.recorder.isWaiting(id)));
    const written = await this.writtenIds(reports.map((r) => r.verificationId).filter((id) => !waiting.has(id)));
    const unknown: string[] = [];
    for (const report of reports) {
      if (waiting.has(report.verificationId) || written.has(report.verificationId)) this.recorder.report(report);
      else unknown.push(report.verificationId);
    }
    return { unknown };
  }

  private async writtenIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.em().getConnection().execute<{ id: string }[]>('select id from usage_events where id in (?)', [[...new Set(ids)]]);
    return new Set(rows.map((row) => row.id));
  }
}

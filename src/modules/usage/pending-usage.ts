import type { UsageEvent } from './usage-event.entity.js';

/** Uses and reports on their way to the database: what the recorder buffers and a flush writes. */

/** A use of a token, as the verifier sees it: the event's own fields, before it has an id or a report. */
export interface UsageEventDraft
  extends Pick<UsageEvent, 'occurredAt' | 'endpoint' | 'method' | 'clientIp' | 'userAgent' | 'outcome' | 'blocked' | 'blockReason'> {
  tokenId: string;
  /**
   * Whether the flush adds this use to the token's usageCount. False for refusals, and for
   * tokens with a lifetime quota, whose count PostgreSQL already moved at verification time.
   */
  countsTowardUsage: boolean;
}

/** What a resource server reports after serving a verified request. */
export interface UsageReport {
  verificationId: string;
  statusCode: number;
  responseTimeMs: number | null;
}

/** A recorded event waiting to be written. */
export interface PendingEvent extends UsageEventDraft {
  id: string;
  statusCode: number | null;
  responseTimeMs: number | null;
}

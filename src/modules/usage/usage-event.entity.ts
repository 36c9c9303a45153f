import { EntitySchema } from '@mikro-orm/core';

/**
 * One use of a token: a verification by a resource server, or a request to Keymint itself.
 * Written in batches by the UsageRecorder, never on the request's path.
 */
export interface UsageEvent {
  id: string;
  /** The token's id. */
  token: string;
  occurredAt: Date;
  endpoint: string | null;
  method: string | null;
  clientIp: string | null;
  userAgent: string | null;
  /** A VerificationOutcome. */
  outcome: string;
  blocked: boolean;
  blockReason: string | null;
  /** Reported later by the resource server. */
  statusCode: number | null;
  responseTimeMs: number | null;
}

export const UsageEventSchema = new EntitySchema<UsageEvent>({
  name: 'UsageEvent',
  tableName: 'usage_events',
  properties: {
    id: { type: 'uuid', primary: true },
    token: { kind: 'm:1', entity: 'Token', mapToPk: true, deleteRule: 'cascade' },
    occurredAt: { type: 'Date', columnType: 'timestamptz(3)' },
    endpoint: { type: 'text', nullable: true },
    method: { type: 'text', nullable: true },
    clientIp: { type: 'text', nullable: true },
    userAgent: { type: 'text', nullable: true },
    outcome: { type: 'text' },
    blocked: { type: 'boolean' },
    blockReason: { type: 'text', nullable: true },
    statusCode: { type: 'smallint', nullable: true },
    responseTimeMs: { type: 'double', nullable: true },
  },
  indexes: [
    { name: 'usage_events_token_time_index', properties: ['token', 'occurredAt'] },
    { name: 'usage_events_time_index', properties: ['occurredAt'] },
  ],
});

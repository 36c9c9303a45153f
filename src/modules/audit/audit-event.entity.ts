import { EntitySchema } from '@mikro-orm/core';

/** Who did something: a signed-in user, an API token acting for its owner, or nobody known. */
export type ActorMethod = 'SESSION' | 'API_TOKEN' | 'ANONYMOUS';

export const AUDIT_ACTIONS = [
  'TOKEN_MINTED',
  'TOKEN_UPDATED',
  'TOKEN_ROTATED',
  'TOKEN_REVOKED',
  'TEAM_CREATED',
  'TEAM_DELETED',
  'MEMBER_ADDED',
  'MEMBER_ROLE_CHANGED',
  'MEMBER_REMOVED',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * One management change, written in the same transaction as the change itself: the actor, what
 * was done to what, from where, and the fields that changed (never a secret).
 */
export interface AuditEvent {
  id: string;
  occurredAt: Date;
  action: AuditAction;
  actorUserId: string | null;
  actorEmail: string | null;
  actorMethod: ActorMethod;
  actorTokenId: string | null;
  targetType: 'TOKEN' | 'TEAM';
  targetId: string;
  /** The token concerned, and its owner at the time: who may read the event. */
  tokenId: string | null;
  ownerId: string | null;
  teamId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  changes: Record<string, unknown>;
}

export const AuditEventSchema = new EntitySchema<AuditEvent>({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: { type: 'uuid', primary: true },
    occurredAt: { type: 'Date', columnType: 'timestamptz(3)' },
    action: { type: 'text' },
    actorUserId: { type: 'uuid', nullable: true },
    actorEmail: { type: 'text', nullable: true },
    actorMethod: { type: 'text' },
    actorTokenId: { type: 'uuid', nullable: true },
    targetType: { type: 'text' },
    targetId: { type: 'text' },
    tokenId: { type: 'uuid', nullable: true },
    ownerId: { type: 'uuid', nullable: true },
    teamId: { type: 'uuid', nullable: true },
    clientIp: { type: 'text', nullable: true },
    userAgent: { type: 'text', nullable: true },
    changes: { type: 'json' },
  },
  indexes: [
    { name: 'audit_events_time_index', expression: 'create index "audit_events_time_index" on "audit_events" ("occurred_at" desc, "id" desc)' },
    { name: 'audit_events_token_index', expression: 'create index "audit_events_token_index" on "audit_events" ("token_id", "occurred_at" desc)' },
    { name: 'audit_events_owner_index', expression: 'create index "audit_events_owner_index" on "audit_events" ("owner_id", "occurred_at" desc)' },
    { name: 'audit_events_team_index', expression: 'create index "audit_events_team_index" on "audit_events" ("team_id", "occurred_at" desc)' },
    { name: 'audit_events_actor_index', expression: 'create index "audit_events_actor_index" on "audit_events" ("actor_user_id", "occurred_at" desc)' },
  ],
});

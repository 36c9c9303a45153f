import { randomUUID } from 'node:crypto';
import { BigIntType, EntitySchema, OptionalProps, type Ref } from '@mikro-orm/core';
import type { Team } from '../team/team.entity.js';
import type { User } from '../user/user.entity.js';

export const DAYS_OF_WEEK = [
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
  'SUNDAY',
] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

/** When a token may be used: on these days, between these wall-clock times, in this zone. */
export interface TimeRestrictions {
  daysOfWeek: DayOfWeek[] | null;
  /** "HH:MM"; a window whose end is before its start crosses midnight. */
  startTime: string | null;
  endTime: string | null;
  timeZone: string;
}

export interface UsageLimits {
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  requestsPerDay: number | null;
  maxTotalRequests: number | null;
}

export type TokenStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

/**
 * An API token. The secret itself is never stored: only its SHA-256 digest and a short display
 * prefix. `revokedAt` mirrors the Revocation row so that the partial unique index on names can
 * see it (an index cannot look into another table).
 */
export class Token {
  [OptionalProps]?: 'usageCount' | 'lastUsedAt' | 'revokedAt' | 'parent' | 'ancestorIds' | 'rotatedAt' | 'previousSecretExpiresAt' | 'team' | 'description' | 'serverId' | 'ipRestrictions' | 'timeRestrictions' | 'usageLimits' | 'tags' | 'expiresAt' | 'permissions';

  id: string = randomUUID();
  owner!: Ref<User>;
  team: Ref<Team> | null = null;
  name!: string;
  description: string | null = null;
  prefix!: string;
  secretHash!: string;
  permissions: string[] = [];
  serverId: string | null = null;
  ipRestrictions: string[] = [];
  timeRestrictions: TimeRestrictions | null = null;
  usageLimits: UsageLimits | null = null;
  tags: string[] = [];
  createdAt!: Date;
  updatedAt!: Date;
  expiresAt: Date | null = null;
  lastUsedAt: Date | null = null;
  usageCount = 0;
  revokedAt: Date | null = null;
  /** The API token that minted this one, if any. */
  parent: Ref<Token> | null = null;
  /** Every ancestor, nearest last: this token is a descendant of each of them. */
  ancestorIds: string[] = [];
  /** When the secret was last replaced, and until when the one before still verifies. */
  rotatedAt: Date | null = null;
  previousSecretExpiresAt: Date | null = null;

  status(now: Date): TokenStatus {
    if (this.revokedAt) return 'REVOKED';
    if (this.expiresAt && this.expiresAt.getTime() <= now.getTime()) return 'EXPIRED';
    return 'ACTIVE';
  }

  isActive(now: Date): boolean {
    return this.status(now) === 'ACTIVE';
  }
}

export const TokenSchema = new EntitySchema<Token>({
  class: Token,
  tableName: 'tokens',
  properties: {
    id: { type: 'uuid', primary: true },
    owner: { kind: 'm:1', entity: 'User', ref: true },
    team: { kind: 'm:1', entity: 'Team', ref: true, nullable: true },
    name: { type: 'text' },
    description: { type: 'text', nullable: true },
    prefix: { type: 'text' },
    secretHash: { type: 'text', unique: 'tokens_secret_hash_unique' },
    permissions: { type: 'text[]', defaultRaw: `'{}'` },
    serverId: { type: 'text', nullable: true },
    ipRestrictions: { type: 'text[]', defaultRaw: `'{}'` },
    timeRestrictions: { type: 'json', nullable: true },
    usageLimits: { type: 'json', nullable: true },
    tags: { type: 'text[]', defaultRaw: `'{}'` },
    createdAt: { type: 'Date', columnType: 'timestamptz(3)' },
    updatedAt: { type: 'Date', columnType: 'timestamptz(3)' },
    expiresAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
    lastUsedAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
    usageCount: { type: new BigIntType('number'), default: 0 },
    revokedAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
    parent: { kind: 'm:1', entity: 'Token', ref: true, nullable: true, deleteRule: 'set null', index: 'tokens_parent_index' },
    ancestorIds: { type: 'uuid[]', columnType: 'uuid[]', defaultRaw: `'{}'` },
    rotatedAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
    previousSecretExpiresAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
  },
  // Declared here so the ORM's schema diff knows them; they are created by the migrations.
  indexes: [
    { name: 'tokens_owner_created_index', expression: 'create index "tokens_owner_created_index" on "tokens" ("owner_id", "created_at" desc, "id" desc)' },
    { name: 'tokens_tags_index', expression: 'create index "tokens_tags_index" on "tokens" using gin ("tags")' },
    { name: 'tokens_ancestors_index', expression: 'create index "tokens_ancestors_index" on "tokens" using gin ("ancestor_ids")' },
    { name: 'tokens_team_created_index', expression: 'create index "tokens_team_created_index" on "tokens" ("team_id", "created_at" desc, "id" desc)' },
    { name: 'tokens_created_index', expression: 'create index "tokens_created_index" on "tokens" ("created_at" desc, "id" desc)' },
    {
      name: 'tokens_owner_scope_name_unique',
      expression: `create unique index "tokens_owner_scope_name_unique" on "tokens" ("owner_id", coalesce("team_id", '00000000-0000-0000-0000-000000000000'::uuid), "name") where "revoked_at" is null`,
    },
  ],
});

import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/**
 * A person known from a session JWT. The row is created the first time a `sub` is seen and
 * refreshed only when the claims change; `permissions` and `isAdmin` are the latest claims,
 * which is what a token with an empty permission list inherits at use time.
 */
export class User {
  id: string = randomUUID();
  subject!: string;
  email!: string;
  name: string | null = null;
  permissions: string[] = [];
  isAdmin = false;
  /**
   * The issue time (`iat`) of the session the claims above came from; null when it had none. Only a
   * session issued no earlier may change them, so a stale session cannot undo a newer one.
   */
  claimsIssuedAt: Date | null = null;
  createdAt!: Date;
  updatedAt!: Date;

  constructor(init: { subject: string; email: string; name?: string | null; now: Date }) {
    this.subject = init.subject;
    this.email = init.email;
    this.name = init.name ?? null;
    this.createdAt = init.now;
    this.updatedAt = init.now;
  }
}

export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    subject: { type: 'text', unique: 'users_subject_unique' },
    email: { type: 'text' },
    name: { type: 'text', nullable: true },
    permissions: { type: 'text[]', defaultRaw: `'{}'` },
    isAdmin: { type: 'boolean', default: false },
    claimsIssuedAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz(3)' },
    updatedAt: { type: 'Date', columnType: 'timestamptz(3)' },
  },
  // Teams add members by email, case-insensitively.
  indexes: [{ name: 'users_email_index', expression: 'create index "users_email_index" on "users" (lower("email"))' }],
});

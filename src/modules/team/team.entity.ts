import { randomUUID } from 'node:crypto';
import { EntitySchema, OptionalProps } from '@mikro-orm/core';

/** A group that can own tokens together. Its behaviour (membership, roles) lives in the teams module. */
export class Team {
  [OptionalProps]?: 'deletedAt';

  id: string = randomUUID();
  name!: string;
  slug!: string;
  createdAt!: Date;
  /** Deleted teams are hidden, never removed: their tokens' revocations stay visible. */
  deletedAt: Date | null = null;

  constructor(init: { name: string; slug: string; now: Date }) {
    this.name = init.name;
    this.slug = init.slug;
    this.createdAt = init.now;
  }
}

export const TeamSchema = new EntitySchema<Team>({
  class: Team,
  tableName: 'teams',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'text' },
    slug: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz(3)' },
    deletedAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
  },
  // A slug is unique among live teams only; the migration creates this partial index.
  indexes: [
    {
      name: 'teams_slug_unique',
      expression: 'create unique index "teams_slug_unique" on "teams" ("slug") where "deleted_at" is null',
    },
  ],
});

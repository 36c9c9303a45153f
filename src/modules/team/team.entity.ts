import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** A group that can own tokens together. Its behaviour (membership, roles) lives in the teams module. */
export class Team {
  id: string = randomUUID();
  name!: string;
  slug!: string;
  createdAt!: Date;

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
    slug: { type: 'text', unique: 'teams_slug_unique' },
    createdAt: { type: 'Date', columnType: 'timestamptz(3)' },
  },
});

import { randomUUID } from 'node:crypto';
import { EntitySchema, type Ref } from '@mikro-orm/core';
import type { Token } from './token.entity.js';

/** Why and by whom a token was revoked. At most one per token: the first revocation wins. */
export class Revocation {
  id: string = randomUUID();
  token!: Ref<Token>;
  revokedAt!: Date;
  revokedBy!: string;
  reason: string | null = null;
}

export const RevocationSchema = new EntitySchema<Revocation>({
  class: Revocation,
  tableName: 'revocations',
  properties: {
    id: { type: 'uuid', primary: true },
    token: { kind: '1:1', entity: 'Token', owner: true, ref: true, unique: 'revocations_token_unique' },
    revokedAt: { type: 'Date', columnType: 'timestamptz(3)' },
    revokedBy: { type: 'text' },
    reason: { type: 'text', nullable: true },
  },
});

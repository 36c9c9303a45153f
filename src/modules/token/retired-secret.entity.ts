import { EntitySchema } from '@mikro-orm/core';

/**
 * A secret a rotation replaced, by digest. It verifies until `validUntil` (the grace period,
 * capped at the token's expiry); afterwards it answers REVOKED, and its use is recorded, so the
 * owner sees that an old secret is still around.
 */
export interface RetiredSecret {
  secretHash: string;
  token: string;
  prefix: string;
  retiredAt: Date;
  validUntil: Date;
}

export const RetiredSecretSchema = new EntitySchema<RetiredSecret>({
  name: 'RetiredSecret',
  tableName: 'retired_secrets',
  properties: {
    secretHash: { type: 'text', primary: true },
    token: { kind: 'm:1', entity: 'Token', mapToPk: true, deleteRule: 'cascade' },
    prefix: { type: 'text' },
    retiredAt: { type: 'Date', columnType: 'timestamptz(3)' },
    validUntil: { type: 'Date', columnType: 'timestamptz(3)' },
  },
  indexes: [
    {
      name: 'retired_secrets_token_index',
      expression: 'create index "retired_secrets_token_index" on "retired_secrets" ("token_id", "valid_until" desc)',
    },
  ],
});

import { EntitySchema } from '@mikro-orm/core';

/**
 * A key that signs exchanged JWTs (EdDSA). Every instance signs with the newest live key and
 * publishes every key until its last JWT has expired. The private part is stored encrypted.
 */
export interface SigningKey {
  kid: string;
  publicJwk: Record<string, unknown>;
  privateJwkEncrypted: string;
  createdAt: Date;
  /** No longer signs from this moment. */
  retiredAt: Date | null;
  /** Dropped from the JWKS after this moment (retiredAt + the JWT lifetime). */
  publishUntil: Date | null;
}

export const SigningKeySchema = new EntitySchema<SigningKey>({
  name: 'SigningKey',
  tableName: 'signing_keys',
  properties: {
    kid: { type: 'text', primary: true },
    publicJwk: { type: 'json' },
    privateJwkEncrypted: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz(3)' },
    retiredAt: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
    publishUntil: { type: 'Date', columnType: 'timestamptz(3)', nullable: true },
  },
});

import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Clock } from '../../clock.js';
import { decrypt, encrypt } from './key-encryption.js';

interface KeyRow {
  kid: string;
  public_jwk: JWK;
  private_jwk_encrypted: string;
  created_at: Date;
  retired_at: Date | null;
  publish_until: Date | null;
}

/** Refresh from the database this often: another instance may have rotated. */
const REFRESH_MS = 60_000;
/** Any fixed number; the same on every instance. */
const KEY_LOCK = '7318265400114';

/**
 * The EdDSA keys that sign exchanged JWTs, kept in PostgreSQL so every instance signs and
 * publishes the same set. The newest live key signs; a retired key stays published until the
 * last JWT it signed has expired.
 */
export class SigningKeys {
  private cached: { at: number; signing: { kid: string; key: CryptoKey | Uint8Array }; published: JWK[] } | null = null;

  constructor(
    private readonly orm: MikroORM,
    private readonly encryptionKey: Buffer,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async signingKey(): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
    return (await this.load()).signing;
  }

  /** The JSON Web Key Set gateways verify with. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.load()).published };
  }

  /** A new signing key; the others retire, published until their last JWT expires. Returns its kid. */
  async rotate(): Promise<string> {
    const kid = await this.create(true);
    this.cached = null;
    return kid;
  }

  private async load(): Promise<{ at: number; signing: { kid: string; key: CryptoKey | Uint8Array }; published: JWK[] }> {
    const now = this.clock().getTime();
    if (this.cached && now - this.cached.at < REFRESH_MS) return this.cached;
    let rows = await this.rows();
    if (!rows.some((row) => row.retired_at === null)) {
      await this.create(false);
      rows = await this.rows();
    }
    const live = rows.filter((row) => row.retired_at === null).sort((a, b) => b.created_at.getTime() - a.created_at.getTime())[0]!;
    let privateJwk: JWK;
    try {
      privateJwk = JSON.parse(decrypt(this.encryptionKey, live.private_jwk_encrypted)) as JWK;
    } catch {
      // Encrypted with another KEY_ENCRYPTION_KEY: unusable here. A fresh key retires it.
      await this.create(true);
      return this.load();
    }
    const published = rows
      .filter((row) => row.publish_until === null || row.publish_until.getTime() > now)
      .map((row) => ({ ...row.public_jwk, kid: row.kid, alg: 'EdDSA', use: 'sig' }));
    this.cached = { at: now, signing: { kid: live.kid, key: await importJWK(privateJwk, 'EdDSA') }, published };
    return this.cached;
  }

  private async rows(): Promise<KeyRow[]> {
    const rows = await this.orm.em.getConnection().execute<KeyRow[]>('select * from signing_keys');
    // Raw rows: the pg driver hands timestamps over as text, PGlite as Date.
    const date = (value: Date | string | null) => (value === null ? null : new Date(value));
    return rows.map((row) => ({
      ...row,
      created_at: date(row.created_at)!,
      retired_at: date(row.retired_at),
      publish_until: date(row.publish_until),
    }));
  }

  /** Creates a key under a lock, so instances starting together create one, not one each. */
  private async create(retireOthers: boolean): Promise<string> {
    const now = this.clock();
    return this.orm.em.transactional(async (tx) => {
      const connection = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await connection.execute('select pg_advisory_xact_lock(?)', [KEY_LOCK], 'all', ctx);
      if (!retireOthers) {
        const live = await connection.execute<{ kid: string }[]>('select kid from signing_keys where retired_at is null', [], 'all', ctx);
        if (live.length > 0) return live[0]!.kid;
      }
      const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const kid = `${now.toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
      if (retireOthers) {
        await connection.execute(
          'update signing_keys set retired_at = ?, publish_until = ? where retired_at is null',
          [now, new Date(now.getTime() + this.ttlSeconds * 1000)],
          'run',
          ctx,
        );
      }
      await connection.execute(
        'insert into signing_keys (kid, public_jwk, private_jwk_encrypted, created_at) values (?, ?::jsonb, ?, ?)',
        [kid, JSON.stringify(await exportJWK(publicKey)), encrypt(this.encryptionKey, JSON.stringify(await exportJWK(privateKey))), now],
        'run',
        ctx,
      );
      return kid;
    });
  }
}

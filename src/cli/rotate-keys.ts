import { ConfigError, loadConfig } from '../config.js';
import { createOrm } from '../db/orm.js';
import { migrate } from '../db/migrate.js';
import { databaseTarget } from '../db/target.js';
import { resolveKeyEncryptionKey } from '../modules/exchange/key-encryption.js';
import { SigningKeys } from '../modules/exchange/signing-keys.js';
import { systemClock } from '../clock.js';

/**
 * `npm run keys:rotate`: a new key signs exchanged JWTs from now on (every instance picks it up
 * within a minute); the old ones stay in /.well-known/jwks.json until their last JWT expires.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const target = databaseTarget(config);
  const orm = await createOrm(target);
  try {
    await migrate(orm, target);
    const keys = new SigningKeys(orm, await resolveKeyEncryptionKey(config), systemClock, config.exchange.ttlSeconds);
    const kid = await keys.rotate();
    console.log(`new signing key ${kid}; previous keys stay published for ${config.exchange.ttlSeconds} s`);
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});

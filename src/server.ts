import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { createOrm } from './db/orm.js';
import { databaseTarget } from './db/target.js';
import { migrate } from './db/migrate.js';
import { resolveSessionSecret } from './auth/session-secret.js';
import { createApp } from './app.js';
import { resolveKeyEncryptionKey } from './modules/exchange/key-encryption.js';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);
  const target = databaseTarget(config);
  logger.info(
    { database: target.kind === 'server' ? 'postgresql' : 'embedded', dataDir: target.kind === 'embedded' ? target.dataDir : undefined },
    target.kind === 'server' ? 'using PostgreSQL from DATABASE_URL' : 'no DATABASE_URL: using embedded PostgreSQL (PGlite)',
  );

  const orm = await createOrm(target);
  const applied = await migrate(orm, target);
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');

  const secret = await resolveSessionSecret(config);
  if (secret.kind === 'generated') {
    logger.warn(
      { file: secret.file, created: secret.created },
      'AUTH_JWT_SECRET is not set: session JWTs are verified with a development secret kept in DATA_DIR; `npm run session` signs with it. Set AUTH_JWT_SECRET or AUTH_JWKS_URL in production.',
    );
  }

  const app = createApp({
    config,
    orm,
    logger,
    sessionSecret: secret.kind === 'none' ? undefined : secret.secret,
    keyEncryptionKey: await resolveKeyEncryptionKey(config),
  });
  const server = createServer(app.handle);
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  logger.info({ port }, `Keymint listening: GraphiQL at http://localhost:${port}/graphql`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining connections');
    const forced = setTimeout(() => {
      logger.warn('drain took too long: closing remaining connections');
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    forced.unref();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Buffered usage events are written before the database closes: a clean stop loses nothing.
    await app.close();
    await orm.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('Keymint failed to start:', error);
  process.exit(1);
});

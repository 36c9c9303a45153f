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
import { createDrain } from './drain.js';

/** Of SHUTDOWN_TIMEOUT_MS, what is kept for writing buffered usage and closing the database. */
const FLUSH_RESERVE_MS = 3_000;

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
  const server = createServer();
  const drain = createDrain(server, app.handle);
  server.on('request', drain.handle);
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  logger.info({ port }, `Keymint listening: GraphiQL at http://localhost:${port}/graphql`);

  // SIGTERM: stop taking requests, let those in flight finish (within the drain budget), then write
  // buffered usage and close the database, all within SHUTDOWN_TIMEOUT_MS.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const startedAt = Date.now();
    const timeout = config.shutdownTimeoutMs;
    const giveUp = setTimeout(() => {
      logger.error({ timeoutMs: timeout }, 'shutdown did not finish within SHUTDOWN_TIMEOUT_MS: exiting');
      process.exit(1);
    }, timeout);
    giveUp.unref();
    logger.info({ signal, inFlight: drain.inFlight }, 'shutting down: no new requests; finishing those in flight');
    app.endStreams();
    const forced = setTimeout(() => {
      logger.warn({ inFlight: drain.inFlight }, 'requests still running at the drain deadline: closing their connections');
      drain.forceClose();
    }, timeout - Math.min(FLUSH_RESERVE_MS, timeout / 3));
    forced.unref();
    await drain.start();
    clearTimeout(forced);
    // Buffered usage events are written before the database closes: a clean stop loses nothing.
    await app.close();
    await orm.close();
    const unwritten = app.usage.pending;
    if (unwritten > 0) logger.error({ unwritten }, 'stopped, but the database could not take the last usage events: they are lost');
    else logger.info({ ms: Date.now() - startedAt }, 'stopped');
    process.exit(unwritten > 0 ? 1 : 0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('Keymint failed to start:', error);
  process.exit(1);
});

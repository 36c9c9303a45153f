import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * The Redis connections an instance keeps: one for commands (rate-limit counters, publishing) and
 * one for subscriptions. Commands fail fast while Redis is away (no offline queue), so callers can
 * fall back at once; the connections keep retrying in the background and recover by themselves.
 */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  /** Whether the command connection is usable now. */
  isUp(): boolean;
  close(): Promise<void>;
}

export function connectRedis(url: string, logger: Logger): RedisConnections {
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Keep trying, never more than every 2 s, so a returning Redis is found quickly.
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  };
  const commands = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
  let up = false;
  commands.on('ready', () => {
    if (!up) logger.info('redis is up: shared rate limits and live revocation across instances');
    up = true;
  });
  const down = (error?: Error) => {
    if (up) logger.warn({ err: error }, 'redis is unreachable: degraded to per-instance rate limits; revocations reach other instances within the cache TTL');
    up = false;
  };
  commands.on('close', () => down());
  commands.on('error', (error: Error) => down(error));
  subscriber.on('error', () => undefined); // reported through the command connection
  return {
    commands,
    subscriber,
    // Both: a listening connection that is reconnecting would miss other instances' revocations.
    isUp: () => up && commands.status === 'ready' && subscriber.status === 'ready',
    close: async () => {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';
import type { TokenEvent } from '../modules/token/token-events.js';
import type { RedisConnections } from './redis.js';

const CHANNEL = 'keymint:token-events';

/**
 * Token events (revoked, rotated, updated) for every instance. Listeners on this instance hear an
 * event at once; with Redis, the other instances hear it as soon as Redis carries it. While Redis
 * is away, other instances are bounded by their cache TTL instead.
 */
export interface TokenEventBus {
  publish(event: TokenEvent): void;
  /** `onEnd` is called when the bus stops (the process is shutting down): streams should end. */
  subscribe(listener: (event: TokenEvent) => void, onEnd?: () => void): () => void;
  /** Ends every subscription: their streams close, and so can their connections. */
  endSubscriptions(): void;
}

export class LocalTokenEventBus implements TokenEventBus {
  protected readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: TokenEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: TokenEvent) => void, onEnd?: () => void): () => void {
    this.emitter.on('event', listener);
    if (onEnd) this.emitter.on('end', onEnd);
    return () => {
      this.emitter.off('event', listener);
      if (onEnd) this.emitter.off('end', onEnd);
    };
  }

  endSubscriptions(): void {
    this.emitter.emit('end');
  }
}

export class RedisTokenEventBus extends LocalTokenEventBus {
  /** Messages carry their origin, so an instance does not hear its own events twice. */
  private readonly origin = randomUUID();

  constructor(
    private readonly redis: RedisConnections,
    private readonly logger: Logger,
  ) {
    super();
    redis.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== CHANNEL) return;
      try {
        const { origin, event } = JSON.parse(message) as { origin: string; event: TokenEvent & { at: string } };
        if (origin !== this.origin) this.emitter.emit('event', { ...event, at: new Date(event.at) });
      } catch (error) {
        this.logger.warn({ err: error }, 'ignored a malformed token event from redis');
      }
    });
    void redis.subscriber.subscribe(CHANNEL).catch((error: unknown) => logger.warn({ err: error }, 'could not subscribe to token events yet'));
  }

  override publish(event: TokenEvent): void {
    super.publish(event);
    this.redis.commands.publish(CHANNEL, JSON.stringify({ origin: this.origin, event })).catch((error: unknown) => {
      this.logger.warn({ err: error, tokenId: event.tokenId }, 'token event not sent to other instances: redis is unreachable');
    });
  }
}

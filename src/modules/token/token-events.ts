/**
 * What happened to a token that others must hear about at once: caches on every instance drop
 * it, and gateways subscribed to tokenEvents drop theirs.
 */
export type TokenEventType = 'REVOKED' | 'ROTATED' | 'UPDATED';

export interface TokenEvent {
  type: TokenEventType;
  /** Database id. */
  tokenId: string;
  /** The display prefix of the secret the event is about (for ROTATED: the replaced one). */
  prefix: string;
  at: Date;
}

export type TokenEventSink = (event: TokenEvent) => void;

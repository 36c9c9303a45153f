import { LRUCache } from 'lru-cache';
import type { TokenSnapshot } from '../token/token-snapshot.js';

const MISSING = Symbol('missing');

interface Entry {
  value: TokenSnapshot | typeof MISSING;
  /** performance.now() after which the entry is only good for riding out an outage. */
  freshUntil: number;
}

export interface VerificationCacheOptions {
  max: number;
  ttlMs: number;
  negativeTtlMs: number;
  /** How long past its TTL a verified token is kept, for use only while the database is unreachable. */
  staleIfErrorMs?: number;
}

/**
 * Verified tokens by secret digest, in a bounded LRU with a short TTL, so the hot path does no
 * database work. Unknown digests are remembered too, briefly, so that guessing is not a free
 * database hammer. Revoking or changing a token drops its entry before the mutation returns (and,
 * through Redis, on every instance); the TTL bounds how stale anything else (an owner's claims) can
 * get. Past its TTL a verified token stays for `staleIfErrorMs` more, answered only while the
 * database cannot be reached, so an outage does not stop tokens that were just in use.
 */
export class VerificationCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Secret digests by owner, so that an owner's new claims reach their tokens at once. */
  private readonly byOwner = new Map<string, Set<string>>();
  /** Secret digests by token (its current secret and a rotated one in its grace period). */
  private readonly byToken = new Map<string, Set<string>>();
  private readonly staleMs: number;

  constructor(private readonly options: VerificationCacheOptions) {
    this.staleMs = options.staleIfErrorMs ?? 0;
    this.entries = new LRUCache<string, Entry>({
      max: options.max,
      ttl: Math.max(options.ttlMs + this.staleMs, 1),
      dispose: (entry, secretHash) => {
        if (entry.value === MISSING) return;
        unindex(this.byOwner, entry.value.owner.id, secretHash);
        unindex(this.byToken, entry.value.id, secretHash);
      },
    });
  }

  /** A fresh snapshot, `null` for a digest known to match nothing, or undefined when not cached (or stale). */
  get(secretHash: string): TokenSnapshot | null | undefined {
    const entry = this.entries.get(secretHash);
    if (!entry || entry.freshUntil < performance.now()) return undefined;
    return entry.value === MISSING ? null : entry.value;
  }

  /** A verified token past its TTL but within the stale window: for when the database is unreachable. */
  stale(secretHash: string): TokenSnapshot | undefined {
    const entry = this.entries.get(secretHash);
    return entry && entry.value !== MISSING ? entry.value : undefined;
  }

  remember(secretHash: string, snapshot: TokenSnapshot | null): void {
    const ttl = snapshot ? this.options.ttlMs : this.options.negativeTtlMs;
    if (ttl <= 0) return;
    const freshUntil = performance.now() + ttl;
    // An unknown digest is never kept past its TTL: "unknown" is not worth riding an outage on.
    this.entries.set(secretHash, { value: snapshot ?? MISSING, freshUntil }, { ttl: snapshot ? ttl + this.staleMs : ttl });
    if (snapshot) {
      index(this.byOwner, snapshot.owner.id, secretHash);
      index(this.byToken, snapshot.id, secretHash);
    }
  }

  /** Drops every cached secret of one token. */
  forgetToken(tokenId: string): void {
    for (const secretHash of [...(this.byToken.get(tokenId) ?? [])]) this.entries.delete(secretHash);
    this.byToken.delete(tokenId);
  }

  /** Drops every cached token of one owner (their claims, which bound the tokens, changed). */
  forgetOwner(ownerId: string): void {
    for (const secretHash of [...(this.byOwner.get(ownerId) ?? [])]) this.entries.delete(secretHash);
    this.byOwner.delete(ownerId);
  }
}

function index(map: Map<string, Set<string>>, key: string, secretHash: string): void {
  const hashes = map.get(key) ?? new Set<string>();
  hashes.add(secretHash);
  map.set(key, hashes);
}

function unindex(map: Map<string, Set<string>>, key: string, secretHash: string): void {
  const hashes = map.get(key);
  if (!hashes) return;
  hashes.delete(secretHash);
  if (hashes.size === 0) map.delete(key);
}

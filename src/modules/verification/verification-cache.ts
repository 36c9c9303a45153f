import { LRUCache } from 'lru-cache';
import type { TokenSnapshot } from '../token/token-snapshot.js';

const MISSING = Symbol('missing');
type Entry = TokenSnapshot | typeof MISSING;

export interface VerificationCacheOptions {
  max: number;
  ttlMs: number;
  negativeTtlMs: number;
}

/**
 * Verified tokens by secret digest, in a bounded LRU with a short TTL, so the hot path does no
 * database work. Unknown digests are remembered too, briefly, so that guessing is not a free
 * database hammer. Revoking or changing a token drops its entry before the mutation returns;
 * the TTL bounds how stale anything else (an owner's claims) can get.
 */
export class VerificationCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Secret digests by owner, so that an owner's new claims reach their tokens at once. */
  private readonly byOwner = new Map<string, Set<string>>();

  constructor(private readonly options: VerificationCacheOptions) {
    this.entries = new LRUCache<string, Entry>({
      max: options.max,
      ttl: Math.max(options.ttlMs, 1),
      dispose: (entry, secretHash) => {
        if (entry !== MISSING) this.unindex(entry.owner.id, secretHash);
      },
    });
  }

  /** A snapshot, `null` for a digest known to match nothing, or undefined when not cached. */
  get(secretHash: string): TokenSnapshot | null | undefined {
    const entry = this.entries.get(secretHash);
    return entry === MISSING ? null : entry;
  }

  remember(secretHash: string, snapshot: TokenSnapshot | null): void {
    const ttl = snapshot ? this.options.ttlMs : this.options.negativeTtlMs;
    if (ttl <= 0) return;
    this.entries.set(secretHash, snapshot ?? MISSING, { ttl });
    if (snapshot) {
      const hashes = this.byOwner.get(snapshot.owner.id) ?? new Set<string>();
      hashes.add(secretHash);
      this.byOwner.set(snapshot.owner.id, hashes);
    }
  }

  /** Drops every cached token of one owner (their claims, which bound the tokens, changed). */
  forgetOwner(ownerId: string): void {
    for (const secretHash of [...(this.byOwner.get(ownerId) ?? [])]) this.entries.delete(secretHash);
    this.byOwner.delete(ownerId);
  }

  private unindex(ownerId: string, secretHash: string): void {
    const hashes = this.byOwner.get(ownerId);
    if (!hashes) return;
    hashes.delete(secretHash);
    if (hashes.size === 0) this.byOwner.delete(ownerId);
  }

  forget(secretHash: string): void {
    this.entries.delete(secretHash);
  }

  clear(): void {
    this.entries.clear();
    this.byOwner.clear();
  }
}

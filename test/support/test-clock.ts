import type { Clock } from '../../src/clock.js';

/** An instant as tests write one: a Date, an ISO string, or milliseconds since the epoch. */
export type Instant = Date | string | number;

/**
 * A clock that a test moves by hand instead of sleeping. It is a `Clock`: pass it as
 * `createTestApp({ clock })` (or to `createApp`) and keep it to move time.
 */
export interface TestClock extends Clock {
  /** The current instant in milliseconds since the epoch, as `Date.now()` gives it. */
  now(): number;
  set(instant: Instant): void;
  advance(ms: number): void;
  advanceDays(days: number): void;
  /** Runs `work` with the clock at `instant`, then puts it back where it was, even if `work` throws. */
  at<T>(instant: Instant, work: () => Promise<T>): Promise<T>;
}

const DAY_MS = 86_400_000;

/** A clock standing at `start`, or at the real time when it is made; it moves only when told to. */
export function testClock(start: Instant = Date.now()): TestClock {
  let current = toMs(start);
  return Object.assign(() => new Date(current), {
    now: () => current,
    set(instant: Instant) {
      current = toMs(instant);
    },
    advance(ms: number) {
      current += ms;
    },
    advanceDays(days: number) {
      current += days * DAY_MS;
    },
    async at<T>(instant: Instant, work: () => Promise<T>): Promise<T> {
      const before = current;
      current = toMs(instant);
      try {
        return await work();
      } finally {
        current = before;
      }
    },
  });
}

function toMs(instant: Instant): number {
  const ms = instant instanceof Date ? instant.getTime() : typeof instant === 'string' ? Date.parse(instant) : instant;
  if (!Number.isFinite(ms)) throw new Error(`not an instant: ${String(instant)}`);
  return ms;
}

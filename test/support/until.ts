/**
 * Polls `condition` until it holds and resolves with the milliseconds that took; rejects once
 * `timeoutMs` have passed without it.
 */
export async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await condition()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

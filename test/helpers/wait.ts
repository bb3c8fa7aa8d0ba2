import { setTimeout as sleep } from "node:timers/promises";

/** What a probe returns while the awaited thing is not there yet. */
type NotYet = undefined | false;

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined or false, and
 * resolves to that; rejects after `timeoutMs` naming `what`. A probe that throws counts as "not
 * yet" (what it asks may not be up: a refused connection, a file not written), and its last error
 * is named in the rejection.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | NotYet | Promise<T | NotYet>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

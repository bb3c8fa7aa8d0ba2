/** Exponential backoff with a cap: 250 ms, 500 ms, 1 s ... `maxMs`. */
export function backoffMs(attempt: number, maxMs = 10000, baseMs = 250): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
}

/** A sleep that `wake()` ends early (used so a stop does not wait out a backoff). */
export class Sleeper {
  private wakers = new Set<() => void>();
  private stopped = false;

  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Ends the sleeps in progress and every later one at once (a stop lands between sleeps too). */
  stop(): void {
    this.stopped = true;
    this.wake();
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== e.message
      ? `${e.message}: ${cause.message}`
      : e.message;
  }
  return String(e);
}

/**
 * Per-container read budgets (token buckets): a container may have its files read at `rateBytes`
 * per second, and up to `burstBytes` at once after a quiet spell. Fairness by reading less: a
 * container over its budget is simply read later (its lines wait in its own files, the way a slow
 * consumer leaves them), never dropped, and the other containers' lines keep flowing. Pure; the
 * clock is the caller's.
 */
export class ContainerRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** `rateBytes` 0 = no limit. */
  constructor(
    private readonly rateBytes: number,
    private readonly burstBytes: number,
  ) {}

  get limited(): boolean {
    return this.rateBytes > 0;
  }

  /** Bytes `key` may read now (Infinity without a limit). */
  allowance(key: string, now: number): number {
    if (!this.limited) return Number.POSITIVE_INFINITY;
    const b = this.bucket(key, now);
    return Math.floor(b.tokens);
  }

  /** `key` read `bytes` (after `allowance` said it may). */
  take(key: string, bytes: number, now: number): void {
    if (!this.limited || bytes <= 0) return;
    this.bucket(key, now).tokens -= bytes;
  }

  /** Forgets a container no file of which is read any more. */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  private bucket(key: string, now: number): { tokens: number; at: number } {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burstBytes, at: now };
      this.buckets.set(key, b);
      return b;
    }
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(this.burstBytes, b.tokens + elapsed * this.rateBytes);
    b.at = now;
    return b;
  }
}

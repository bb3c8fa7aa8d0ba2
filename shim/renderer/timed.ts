/**
 * The share window's caches: a value is computed once and reused while it is younger than the
 * window. Each cache holds one type, so a value comes back as the type it was stored as.
 */

interface Stamped<T> {
  readonly at: number;
  readonly value: T;
}

/** One remembered value. */
export class TimedValue<T> {
  private stored: Stamped<T> | undefined;

  /** `compute()`'s value, reused while younger than `windowMs`; with a window of 0 nothing is kept. */
  get(at: number, windowMs: number, compute: () => T): T {
    const stored = this.stored;
    if (stored !== undefined && at - stored.at < windowMs) return stored.value;
    const value = compute();
    if (windowMs > 0) this.stored = { at, value };
    return value;
  }
}

/** Remembered values by key (a container's texts by served path, the host's files by path). */
export class TimedMap<K, T> {
  private readonly stored = new Map<K, Stamped<T>>();

  /** `compute()`'s value for `key`, reused while younger than `windowMs`; with a window of 0 nothing is kept. */
  get(key: K, at: number, windowMs: number, compute: () => T): T {
    const stored = this.stored.get(key);
    if (stored !== undefined && at - stored.at < windowMs) return stored.value;
    const value = compute();
    if (windowMs > 0) this.stored.set(key, { at, value });
    return value;
  }
}

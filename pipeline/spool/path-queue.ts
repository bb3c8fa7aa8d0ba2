/** Paths examined per turn of the event loop (a few ms of synchronous work at most). */
export const DEFAULT_BATCH = 128;
/** Longest a batch may run before giving the loop back, even if paths remain. */
const BATCH_BUDGET_MS = 4;
/**
 * Most distinct paths waiting at once. 10,000 new files at once take ~1 MB here; past the bound,
 * new paths are dropped and `overflow` is called (once per overflow), whose catch-up pass walks the
 * tree and finds them, exactly as for a lost inotify event. Keeps a storm from growing the heap.
 */
export const DEFAULT_MAX_PENDING = 50_000;

/**
 * Paths to look at again, each once however many events name it, oldest first, worked off in
 * small synchronous batches between turns of the event loop. Keeps the earliest event time of a
 * path (the latency histogram measures from the first event).
 */
export class PathQueue {
  private readonly pending = new Map<string, number>();
  private scheduled = false;
  private overflowing = false;
  private stopped = false;

  constructor(
    private readonly examine: (rel: string, eventAt: number) => void,
    private readonly opts: {
      overflow: () => void;
      batch?: number;
      maxPending?: number;
      /** Runs `fn` after pending I/O callbacks (default setImmediate): tests pass their own. */
      schedule?: (fn: () => void) => void;
    },
  ) {}

  add(rel: string, eventAt: number): void {
    if (this.stopped) return;
    const first = this.pending.get(rel);
    if (first !== undefined) {
      if (eventAt < first) this.pending.set(rel, eventAt); // keeps its place in the order
      return;
    }
    if (this.pending.size >= (this.opts.maxPending ?? DEFAULT_MAX_PENDING)) {
      if (!this.overflowing) {
        this.overflowing = true;
        this.opts.overflow();
      }
      return;
    }
    this.pending.set(rel, eventAt);
    this.wake();
  }

  has(rel: string): boolean {
    return this.pending.has(rel);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Drops what is waiting; later adds are ignored. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
  }

  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    (this.opts.schedule ?? setImmediate)(() => this.runBatch());
  }

  private runBatch(): void {
    this.scheduled = false;
    const limit = this.opts.batch ?? DEFAULT_BATCH;
    const started = performance.now();
    let done = 0;
    for (const [rel, eventAt] of this.pending) {
      if (this.stopped) return;
      this.pending.delete(rel);
      this.examine(rel, eventAt);
      if (++done >= limit || performance.now() - started > BATCH_BUDGET_MS) break;
    }
    if (this.pending.size < (this.opts.maxPending ?? DEFAULT_MAX_PENDING)) this.overflowing = false;
    if (this.pending.size > 0) this.wake();
  }
}

/** How often pending new directories are checked. */
const TICK_MS = 25;
/** A directory whose watch never appears (its fs.watch failed: ENOSPC) is walked after this anyway. */
const GIVE_UP_MS = 10_000;

/**
 * chokidar lists a new directory and only then watches it, so a file created in that gap gets no
 * event, and a new container's first files are made exactly then. Under load that gap lasts
 * long (seconds when the libuv threadpool is busy), so no fixed delay is enough: each new
 * directory is listed once more (not recursively: its subdirectories have their own addDir)
 * right after chokidar's watch on it exists. Files made before that are found by this listing,
 * files made after it by the watch.
 */
export class NewDirRescanner {
  private readonly pending = new Map<string, { since: number; eventAt: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly isWatched: (relDir: string) => boolean,
    private readonly list: (relDir: string, eventAt: number) => Promise<void>,
  ) {}

  dirAdded(relDir: string, eventAt: number): void {
    if (!this.pending.has(relDir)) this.pending.set(relDir, { since: performance.now(), eventAt });
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private tick(): void {
    const now = performance.now();
    for (const [relDir, p] of this.pending) {
      if (!this.isWatched(relDir) && now - p.since < GIVE_UP_MS) continue;
      this.pending.delete(relDir);
      void this.list(relDir, p.eventAt);
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** Quiet time after activity before a catch-up pass. */
const QUIET_MS = 1000;
/** Under continuous activity, a catch-up pass still runs this often. */
const MAX_WAIT_MS = 5000;

/**
 * The kernel's inotify queue holds fs.inotify.max_queued_events (16384) events; when a burst
 * outruns the process, the overflow is dropped and Node's fs.watch does not say so. After any
 * activity in the tree, once it calms down (or every few seconds while it lasts), a cheap
 * catch-up pass compares the tree with the links in memory and looks again at the differences
 * only, instead of waiting for the periodic full reconcile.
 */
export class ActivityCatchUp {
  private first: number | undefined;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly run: () => void) {}

  /**
   * Called for every watch event, so it only notes the time: one timer is armed per quiet
   * period, and when it fires it either runs the pass or re-arms for the rest of the wait (a
   * clearTimeout + setTimeout per event cost a timer object per event in a 10,000-file storm).
   */
  activity(): void {
    const now = performance.now();
    this.last = now;
    this.first ??= now;
    if (this.timer === undefined) this.arm(now);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(now: number): void {
    const first = this.first ?? now;
    const wait = Math.max(0, Math.min(this.last + QUIET_MS, first + MAX_WAIT_MS) - now);
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    const now = performance.now();
    const first = this.first ?? now;
    if (now - this.last < QUIET_MS && now - first < MAX_WAIT_MS) {
      this.arm(now); // activity since the timer was armed: wait for the rest of the quiet period
      return;
    }
    this.first = undefined;
    this.timer = undefined;
    this.run();
  }
}

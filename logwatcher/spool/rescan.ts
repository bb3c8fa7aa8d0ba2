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

/** Events in one burst after which a reconcile follows the burst. */
const BURST_EVENTS = 500;
/** Quiet time that ends a burst. */
const BURST_QUIET_MS = 1500;

/**
 * The kernel's inotify queue holds fs.inotify.max_queued_events (16384) events per instance; a
 * burst larger than the process drains in time overflows it, and Node's fs.watch drops the
 * overflow notice silently. So a large burst is followed, once it calms down, by a reconcile
 * pass instead of waiting for the periodic one.
 */
export class BurstReconcile {
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly reconcile: () => void) {}

  event(): void {
    this.count++;
    if (this.count < BURST_EVENTS) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.count = 0;
      this.reconcile();
    }, BURST_QUIET_MS);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

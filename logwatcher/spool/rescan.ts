/**
 * chokidar lists a new directory and only then watches it, so a file created in that gap gets no
 * event, and a new container's first files are made exactly then. Each new directory is walked
 * again after each of these delays (the listing takes milliseconds); the periodic reconcile stays
 * the last resort.
 */
export const NEW_DIR_RESCAN_MS: readonly number[] = [50, 400];

/**
 * Schedules those walks. A directory whose ancestor's first walk is still to come is skipped: that
 * walk covers it, and the ancestor's later walk still comes more than the gap after it.
 */
export class NewDirRescanner {
  private readonly firstPending = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly walk: (relDir: string, eventAt: number) => Promise<void>) {}

  dirAdded(relDir: string, eventAt: number): void {
    if (this.coveredByAncestor(relDir)) return;
    this.firstPending.add(relDir);
    NEW_DIR_RESCAN_MS.forEach((delay, i) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (i === 0) this.firstPending.delete(relDir);
        void this.walk(relDir, eventAt);
      }, delay);
      this.timers.add(timer);
    });
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.firstPending.clear();
  }

  private coveredByAncestor(relDir: string): boolean {
    for (let i = relDir.indexOf("/"); i >= 0; i = relDir.indexOf("/", i + 1)) {
      if (this.firstPending.has(relDir.slice(0, i))) return true;
    }
    return this.firstPending.has(relDir);
  }
}

import type { Stats } from "node:fs";
import { join } from "node:path";
import {
  absUnder,
  checkEligible,
  HOSTILE_REFUSALS,
  lstatOrGone,
  type Refusal,
} from "../../common/files/eligibility.js";
import type { Logger } from "../../common/logger.js";
import type { LogwatcherMetrics } from "./metrics.js";
import { linkNameFor } from "./naming.js";
import type { PathFilter } from "./patterns.js";
import { createLinkAtomically, createLinkIfAbsent, inspectEntry, unlinkQuiet } from "./spool-dir.js";

export type SyncOutcome = "linked" | "unlinked" | "unchanged" | "refused" | "failed";

/**
 * Makes the spool agree with one path of the log tree, looking at both as they are *now*. Watch
 * events and reconcile passes both only say "look at this path again", so a stale event or a
 * reconcile racing a burst cannot undo newer work.
 *
 * Synchronous: one path is examined and linked with a handful of system calls (lstat, realpath,
 * symlink, lstat for a new file) without yielding, so two examinations never interleave and no
 * per-name queue is needed. Callers run it in small batches between turns of the event loop
 * (events.ts, reconcile.ts). A log root on a hung network filesystem would block the process in
 * those calls; the watcher is meant for the host's local log directory.
 */
export class SpoolLinker {
  /** Names of the links we keep, with their relative path (the gauge, unlinkDir lookups). */
  readonly linked = new Map<string, string>();
  /** Hostile paths already counted, so a planted symlink counts once, not once per reconcile. */
  private readonly reported = new Map<string, Refusal>();
  /** The labelled counter child, looked up once (prom-client hashes the labels on every inc). */
  private readonly linksMade: { inc(): void };

  constructor(
    private readonly root: string,
    private readonly spool: string,
    private readonly filter: PathFilter,
    private readonly metrics: LogwatcherMetrics,
    private readonly log: Logger,
  ) {
    this.linksMade = metrics.linkEvents.labels({ op: "link" });
  }

  /**
   * Re-examines `rel`; `eventAt` (performance.now() of the watch event) feeds the latency
   * histogram; `st` is an lstat of the path the caller has just made, if any.
   */
  sync(rel: string, eventAt?: number, st?: Stats): SyncOutcome {
    let name: string;
    try {
      name = linkNameFor(rel);
    } catch {
      return "refused";
    }
    try {
      return this.syncNow(rel, name, eventAt, st);
    } catch (e) {
      this.fail("io", { rel, link: name, err: e }, "spool update failed");
      return "failed";
    }
  }

  /** Linked already (a rescan need not ask again). */
  isLinked(rel: string): boolean {
    try {
      return this.linked.get(linkNameFor(rel)) === rel;
    } catch {
      return false;
    }
  }

  /** Relative paths of our links at or below directory `relDir`. */
  linkedUnder(relDir: string): string[] {
    const prefix = `${relDir}/`;
    return [...this.linked.values()].filter((rel) => rel.startsWith(prefix));
  }

  private syncNow(
    rel: string,
    name: string,
    eventAt: number | undefined,
    st: Stats | undefined,
  ): SyncOutcome {
    const verdict = checkEligible(this.root, rel, this.filter, st);
    if (verdict.ok) {
      this.reported.delete(rel);
      if (this.linked.get(name) !== rel) {
        // Fast path for a new file: symlink(2) makes the link whole or not at all, and never
        // replaces an entry (EEXIST), so it cannot clobber a foreign one.
        // rel is normalized here (linkNameFor checked it), so absUnder is join.
        const made = createLinkIfAbsent(this.spool, name, absUnder(this.root, rel));
        if (made) return this.confirmNew(rel, name, verdict, eventAt);
      }
    }
    const entry = inspectEntry(this.spool, this.root, name);
    if (!verdict.ok) {
      this.noteRefusal(rel, verdict.reason, verdict.detail);
      if (entry.kind === "owned" && entry.rel === rel) {
        unlinkQuiet(join(this.spool, name));
        this.linked.delete(name);
        this.metrics.linkEvents.inc({ op: "unlink" });
        this.log.debug({ rel, link: name, reason: verdict.reason }, "unlinked");
        return "unlinked";
      }
      if (this.linked.get(name) === rel) this.linked.delete(name);
      return verdict.reason === "gone" || verdict.reason === "not_included" ? "unchanged" : "refused";
    }
    if (entry.kind === "owned" && entry.rel === rel) {
      this.linked.set(name, rel);
      return "unchanged";
    }
    if (entry.kind === "foreign") {
      this.fail(
        "name_taken",
        { rel, link: name, what: entry.what },
        "spool name taken by an entry boxscope did not make",
      );
      return "failed";
    }
    if (entry.kind === "owned") {
      // Two paths hashing to one name (48-bit hash: only by accident or malice). The link that is
      // there keeps the name while its file is eligible; two files never share a link.
      const other = checkEligible(this.root, entry.rel, this.filter);
      if (other.ok) {
        this.fail(
          "name_conflict",
          { rel, link: name, holder: entry.rel },
          "two log files map to one spool name",
        );
        return "failed";
      }
    }
    // Replacing (or racing a removal): symlink under a temp name, re-check, rename over.
    const target = join(this.root, rel);
    const done = createLinkAtomically(this.spool, name, target, () => {
      const again = checkEligible(this.root, rel, this.filter);
      return again.ok && again.dev === verdict.dev && again.ino === verdict.ino;
    });
    if (!done) return "unchanged"; // changed under us: its own watch event re-examines it
    return this.linkedNow(rel, name, eventAt);
  }

  /**
   * Race-aware: the path may have been swapped (for a symlink, a FIFO...) between the check and
   * the symlink; if the file there now is not the one checked, the new link goes again at once.
   */
  private confirmNew(
    rel: string,
    name: string,
    checked: { dev: number; ino: number },
    eventAt: number | undefined,
  ): SyncOutcome {
    const again = lstatOrGone(absUnder(this.root, rel));
    if (
      "ok" in again ||
      !again.isFile() ||
      again.dev !== checked.dev ||
      again.ino !== checked.ino ||
      again.nlink > 1
    ) {
      unlinkQuiet(join(this.spool, name));
      return "unchanged"; // the swap has its own watch event, which re-examines the path
    }
    return this.linkedNow(rel, name, eventAt);
  }

  private linkedNow(rel: string, name: string, eventAt: number | undefined): SyncOutcome {
    this.linked.set(name, rel);
    this.linksMade.inc();
    if (eventAt !== undefined) this.metrics.linkLatency.observe((performance.now() - eventAt) / 1000);
    this.log.debug({ rel, link: name }, "linked");
    return "linked";
  }

  private noteRefusal(rel: string, reason: Refusal, detail: string | undefined): void {
    if (!HOSTILE_REFUSALS.has(reason) && reason !== "stat_error") return;
    if (this.reported.get(rel) === reason) return;
    this.reported.set(rel, reason);
    this.metrics.errors.inc({ reason: `refused_${reason}` });
    this.log.warn({ rel, reason, detail }, "refused to link a log-tree entry");
  }

  /** Forget refusal notes for paths that no longer exist (bounded memory under churn). */
  pruneRefusals(): void {
    for (const rel of [...this.reported.keys()]) {
      const st = lstatOrGone(absUnder(this.root, rel));
      if ("ok" in st && st.reason === "gone") this.reported.delete(rel);
    }
  }

  private fail(reason: string, ctx: Record<string, unknown>, msg: string): void {
    this.metrics.errors.inc({ reason });
    this.log.error(ctx, msg);
  }
}

import { type Dirent, readdirSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { SpoolLinker, SyncOutcome } from "./linker.js";
import type { LogwatcherMetrics } from "./metrics.js";
import type { PathFilter } from "./patterns.js";
import { inspectEntry, listSpool, removeStaleTemps } from "./spool-dir.js";

/**
 * Paths (or directories listed) per turn of the event loop in a pass: the pass is synchronous
 * work in small batches, so watch events keep being served in between.
 */
const PASS_BATCH = 128;
/**
 * Longest a pass runs before giving the loop back, even within a batch: a catch-up pass that
 * falls in a storm (it runs every 5 s under continuous activity) lists new directories and links
 * files whose events are still queued, so 128 steps have no bound in time, and with the Docker
 * and pod trees watched beside the app tree the three trees' passes come due together. The same
 * budget as the event queue's batches (path-queue.ts).
 */
const PASS_BUDGET_MS = 4;

/** Tells a pass when to give the loop back: after PASS_BATCH steps or PASS_BUDGET_MS. */
class Turns {
  private steps = 0;
  private started = performance.now();

  /** Counts a step: true when the pass should `await next()` before it (no promise per step). */
  due(): boolean {
    return ++this.steps >= PASS_BATCH || performance.now() - this.started >= PASS_BUDGET_MS;
  }

  async next(): Promise<void> {
    await nextTurn();
    this.steps = 0;
    this.started = performance.now();
  }
}

export interface ReconcileResult {
  examined: number;
  created: number;
  removed: number;
  temps: number;
  /** Stopped early by `stop`: what was examined so far only (the next pass does the rest). */
  interrupted?: boolean;
}

/**
 * Walks the log tree (never through symlinks) and the spool, and re-examines every path that
 * either side mentions: files matching the patterns, and the targets of our links. Repairs are
 * what the examination changed; with a working watcher they are zero.
 */
export async function reconcile(opts: {
  root: string;
  spool: string;
  filter: PathFilter;
  linker: SpoolLinker;
  metrics: LogwatcherMetrics;
  log: Logger;
  /** A stop requested meanwhile (SIGTERM during start-up) ends the pass early. */
  stop?: AbortSignal;
}): Promise<ReconcileResult> {
  const { root, spool, filter, linker, metrics, log, stop } = opts;
  const candidates = new Set<string>();
  for await (const e of walkTree(root, log)) {
    if (stop?.aborted)
      return { examined: candidates.size, created: 0, removed: 0, temps: 0, interrupted: true };
    if (!e.dir && filter(e.rel)) candidates.add(e.rel);
  }
  const turns = new Turns();
  for (const name of listSpool(spool)) {
    if (turns.due()) await turns.next();
    let entry: ReturnType<typeof inspectEntry> | undefined;
    try {
      entry = inspectEntry(spool, root, name);
    } catch {
      entry = undefined;
    }
    if (entry?.kind === "owned") candidates.add(entry.rel);
  }
  // Left by a crash between symlink() and rename(): never visible to readers under a log name.
  const temps = removeStaleTemps(spool, root);
  if (temps > 0) metrics.repairs.inc({ kind: "temp" }, temps);
  const outcomes = await syncInBatches(linker, candidates, stop);
  const created = outcomes.filter((o) => o === "linked").length;
  const removed = outcomes.filter((o) => o === "unlinked").length;
  if (created > 0) metrics.repairs.inc({ kind: "missing" }, created);
  if (removed > 0) metrics.repairs.inc({ kind: "stale" }, removed);
  linker.pruneRefusals();
  const interrupted = stop?.aborted && outcomes.length < candidates.size ? { interrupted: true } : {};
  return { examined: outcomes.length, created, removed, temps, ...interrupted };
}

/**
 * The cheap pass that follows activity: walk the tree, then look again only at paths that
 * differ from the links in memory (a file without a link, a link without its file), and at
 * directories that differ from the watched ones. No per-file system call for paths that agree.
 * Returns how many links were fixed.
 */
export async function catchUp(opts: {
  root: string;
  filter: PathFilter;
  linker: SpoolLinker;
  metrics: LogwatcherMetrics;
  log: Logger;
  /** Queued for a look already (its event is being handled). */
  isPending: (rel: string) => boolean;
  /** The directories the watcher should have: the pass calls `dirs.found` for every one seen. */
  dirs?: { found(relDir: string): void; notFound(seen: ReadonlySet<string>): void };
}): Promise<number> {
  const { root, filter, linker, metrics, log, isPending, dirs } = opts;
  const seen = new Set<string>();
  const seenDirs = new Set<string>([""]);
  const differing: string[] = [];
  for await (const e of walkTree(root, log)) {
    if (e.dir) {
      seenDirs.add(e.rel);
      dirs?.found(e.rel);
      continue;
    }
    if (!filter(e.rel)) continue;
    seen.add(e.rel);
    if (!linker.isLinked(e.rel) && !isPending(e.rel)) differing.push(e.rel);
  }
  dirs?.notFound(seenDirs);
  for (const rel of linker.linked.values()) if (!seen.has(rel)) differing.push(rel);
  const outcomes = await syncInBatches(linker, differing);
  const fixed = outcomes.filter((o) => o === "linked" || o === "unlinked").length;
  if (fixed > 0) metrics.repairs.inc({ kind: "catch_up" }, fixed);
  return fixed;
}

async function syncInBatches(
  linker: SpoolLinker,
  rels: Iterable<string>,
  stop?: AbortSignal,
): Promise<SyncOutcome[]> {
  const out: SyncOutcome[] = [];
  const turns = new Turns();
  for (const rel of rels) {
    if (turns.due()) await turns.next();
    if (stop?.aborted) break;
    out.push(linker.sync(rel));
  }
  return out;
}

/**
 * Every entry below `root`, directories included (`dir: true`); symlinked directories are not
 * entered (readdir's d_type says symlink). One directory is listed per step, synchronously, and
 * the loop is given back every PASS_BATCH directories or PASS_BUDGET_MS (the caller's work on the
 * entries counts: it runs between the yields).
 */
export async function* walkTree(root: string, log: Logger): AsyncGenerator<{ rel: string; dir: boolean }> {
  const stack: string[] = [""];
  const turns = new Turns();
  while (stack.length > 0) {
    const relDir = stack.pop() as string;
    if (turns.due()) await turns.next();
    let entries: Dirent[];
    try {
      entries = readdirSync(relDir ? join(root, relDir) : root, { withFileTypes: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code !== "ENOENT" && code !== "ENOTDIR") log.warn({ dir: relDir, code }, "cannot read directory");
      continue;
    }
    for (const d of entries) {
      const rel = relDir ? `${relDir}/${d.name}` : d.name;
      if (d.isDirectory()) {
        stack.push(rel);
        yield { rel, dir: true };
      } else yield { rel, dir: false };
    }
  }
}

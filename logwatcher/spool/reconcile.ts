import { opendir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { SpoolLinker, SyncOutcome } from "./linker.js";
import type { LogwatcherMetrics } from "./metrics.js";
import type { PathFilter } from "./patterns.js";
import { inspectEntry, listSpool, removeStaleTemps } from "./spool-dir.js";

/** How many paths a reconcile pass examines at once (bounded fds, keeps the event path responsive). */
const RECONCILE_CONCURRENCY = 16;

export interface ReconcileResult {
  examined: number;
  created: number;
  removed: number;
  temps: number;
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
}): Promise<ReconcileResult> {
  const { root, spool, filter, linker, metrics, log } = opts;
  const candidates = new Set<string>();
  for await (const rel of walkFiles(root, log)) if (filter(rel)) candidates.add(rel);
  for (const name of await listSpool(spool)) {
    const entry = await inspectEntry(spool, root, name).catch(() => undefined);
    if (entry?.kind === "owned") candidates.add(entry.rel);
  }
  // Left by a crash between symlink() and rename(): never visible to readers under a log name.
  const temps = await removeStaleTemps(spool, root);
  if (temps > 0) metrics.repairs.inc({ kind: "temp" }, temps);
  const outcomes = await mapLimit([...candidates], RECONCILE_CONCURRENCY, (rel) => linker.sync(rel));
  const created = outcomes.filter((o) => o === "linked").length;
  const removed = outcomes.filter((o) => o === "unlinked").length;
  if (created > 0) metrics.repairs.inc({ kind: "missing" }, created);
  if (removed > 0) metrics.repairs.inc({ kind: "stale" }, removed);
  await linker.pruneRefusals();
  return { examined: candidates.size, created, removed, temps };
}

/** Relative paths of the non-directory entries directly in `relDir` (none when it is gone). */
export async function listFiles(root: string, relDir: string): Promise<string[]> {
  try {
    const entries = await readdir(join(root, relDir), { withFileTypes: true });
    return entries.filter((d) => !d.isDirectory()).map((d) => `${relDir}/${d.name}`);
  } catch {
    return [];
  }
}

/** Relative paths of every non-directory entry below `root`; symlinked directories are not entered. */
export async function* walkFiles(root: string, log: Logger): AsyncGenerator<string> {
  const stack: string[] = [""];
  while (stack.length > 0) {
    const relDir = stack.pop() as string;
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(relDir ? join(root, relDir) : root);
    } catch (e) {
      const code = errnoCode(e);
      if (code !== "ENOENT" && code !== "ENOTDIR") log.warn({ dir: relDir, code }, "cannot read directory");
      continue;
    }
    try {
      for await (const d of dir) {
        const rel = relDir ? `${relDir}/${d.name}` : d.name;
        if (d.isDirectory()) stack.push(rel);
        else yield rel;
      }
    } catch (e) {
      const code = errnoCode(e);
      if (code !== "ENOENT") log.warn({ dir: relDir, code }, "directory read failed");
    }
  }
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<SyncOutcome>,
): Promise<SyncOutcome[]> {
  const out: SyncOutcome[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

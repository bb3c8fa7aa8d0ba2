import { readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { type ChokidarOptions, type FSWatcher, watch } from "chokidar";
import type { Logger } from "../../common/logger.js";
import { InotifyDirs } from "./inotify-dirs.js";
import type { PathFilter } from "./patterns.js";
import { NewDirRescanner } from "./rescan.js";

/** What the tree watcher reports: a path (relative to the root) to look at again, or a directory gone. */
export interface TreeEvents {
  /** A name to look at again: created, deleted or renamed, or found in a new directory. */
  entry(rel: string, eventAt: number): void;
  /** A polled directory vanished (an inotify-watched one is an entry of its parent). */
  dirGone(rel: string): void;
  /** inotify ran out for `relDir`: it is now polled; a reconcile should cover the gap. */
  polling(relDir: string, code: string, pollingSubtrees: number): void;
  error(reason: string, err: unknown): void;
}

export interface TreeWatcher {
  readonly pollingRoots: ReadonlySet<string>;
  /** `rel` is a directory now: watch it and everything below, and report its entries. */
  dirAppeared(rel: string, eventAt: number): void;
  /** `rel` is no longer a directory: stop watching it; true when it had an inotify watch. */
  forget(rel: string): boolean;
  /** The inode the inotify watch on `relDir` follows (undefined: no watch). */
  watchedIno(relDir: string): number | undefined;
  /** `relDir` has an inotify watch. */
  isWatched(relDir: string): boolean;
  /** Directories with an inotify watch. */
  inotifyDirs(): Iterable<string>;
  /** Inside a subtree that chokidar polls (no inotify there). */
  isPolled(rel: string): boolean;
  close(): Promise<void>;
}

/**
 * The whole tree at any depth, never following symlinks (a symlinked directory could lead out of
 * the root). With inotify: one watch per directory (inotify-dirs.ts), files not watched; appends
 * cause no work. chokidar (polling) serves where inotify cannot: `usePolling` for the whole tree
 * (network filesystems), and a subtree whose inotify watch the kernel refused (ENOSPC when
 * fs.inotify.max_user_watches is exhausted, EMFILE for instances) is watched by a polling chokidar
 * instance with its ordinary add/unlink events, so no file is silently missed.
 */
export async function watchTree(opts: {
  root: string;
  filter: PathFilter;
  usePolling: boolean;
  pollingIntervalMs: number;
  events: TreeEvents;
  log: Logger;
}): Promise<TreeWatcher> {
  const { root, filter, events, log } = opts;
  const rel = (p: string): string => relative(root, p).split(sep).join("/");
  const dirsAndLogs = (p: string, stats?: { isDirectory(): boolean }): boolean =>
    stats !== undefined && !stats.isDirectory() && p !== root && !filter(rel(p));
  const base: ChokidarOptions = {
    followSymlinks: false,
    ignoreInitial: true, // the start-up reconcile covers what exists
    ignorePermissionErrors: false,
    atomic: false, // a rotation's unlink+add must stay two events; sync() looks at the present anyway
    persistent: true,
    ignored: dirsAndLogs,
    usePolling: true,
    interval: opts.pollingIntervalMs,
  };
  const pollingRoots = new Set<string>();
  if (opts.usePolling) pollingRoots.add("");
  const isPolled = (relDir: string): boolean => {
    for (const r of pollingRoots) if (r === "" || relDir === r || relDir.startsWith(`${r}/`)) return true;
    return false;
  };
  let poller: FSWatcher | undefined;
  const wire = (w: FSWatcher): void => {
    for (const ev of ["add", "unlink", "change", "addDir"] as const)
      w.on(ev, (p: string) => events.entry(rel(p), performance.now()));
    w.on("unlinkDir", (p) => events.dirGone(rel(p)));
    w.on("error", (e) => events.error("polling", e));
  };
  // chokidar lists a new directory before it polls it; files made in between are found by
  // listing it once more when its poll exists.
  const rescanner = new NewDirRescanner(
    (relDir) => poller?._closers.has(relDir === "" ? root : join(root, relDir)) ?? false,
    async (relDir, at) => {
      for (const f of await listFiles(root, relDir)) events.entry(f, at);
    },
  );

  const startPolling = (relDir: string, code: string): void => {
    if (isPolled(relDir)) return;
    pollingRoots.add(relDir);
    const absDir = relDir === "" ? root : join(root, relDir);
    log.warn(
      { dir: absDir, code, pollingIntervalMs: opts.pollingIntervalMs, pollingSubtrees: pollingRoots.size },
      code === "ENOSPC"
        ? "inotify watches exhausted (raise fs.inotify.max_user_watches); polling this subtree instead"
        : "inotify instances exhausted (raise fs.inotify.max_user_instances); polling this subtree instead",
    );
    if (!poller) {
      poller = watch(absDir, base);
      wire(poller);
    } else {
      poller.add(absDir);
    }
    events.polling(relDir, code, pollingRoots.size);
  };

  const dirs = new InotifyDirs(
    root,
    { entry: events.entry, unwatchable: startPolling, error: events.error },
    isPolled,
  );
  if (opts.usePolling) {
    poller = watch(root, base);
    wire(poller);
    await new Promise<void>((resolve) => poller?.once("ready", () => resolve()));
  } else {
    dirs.watchTree("", undefined);
  }
  return {
    pollingRoots,
    dirAppeared(relDir, at) {
      if (isPolled(relDir)) rescanner.dirAdded(relDir, at);
      else dirs.watchTree(relDir, at);
    },
    forget: (relDir) => dirs.forget(relDir),
    isWatched: (relDir) => dirs.isWatched(relDir),
    watchedIno: (relDir) => dirs.watchedIno(relDir),
    inotifyDirs: () => dirs.watchedDirs(),
    isPolled,
    async close() {
      rescanner.stop();
      dirs.close();
      await poller?.close();
    },
  };
}

/** Relative paths of the non-directory entries directly in `relDir` (none when it is gone). */
async function listFiles(root: string, relDir: string): Promise<string[]> {
  try {
    const entries = await readdir(join(root, relDir), { withFileTypes: true });
    return entries.filter((d) => !d.isDirectory()).map((d) => `${relDir}/${d.name}`);
  } catch {
    return [];
  }
}

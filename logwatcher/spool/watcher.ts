import type { Stats } from "node:fs";
import { lstat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { type ChokidarOptions, type FSWatcher, watch } from "chokidar";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { PathFilter } from "./patterns.js";

/** What the tree watcher reports: a path (relative to the root) to look at again, or a directory gone. */
export interface TreeEvents {
  path(rel: string, eventAt: number): void;
  dirGone(rel: string): void;
  /** A directory appeared (chokidar reads it before watching it: files made in between are missed). */
  dirAdded(rel: string, eventAt: number): void;
  /** inotify ran out for `relDir`: it is now polled; a reconcile should cover the gap. */
  polling(relDir: string, code: string, pollingSubtrees: number): void;
  error(reason: string, err: unknown): void;
}

export interface TreeWatcher {
  readonly pollingRoots: ReadonlySet<string>;
  /** chokidar's watch on this directory exists (it is set up after the directory is listed). */
  isWatched(relDir: string): boolean;
  close(): Promise<void>;
}

/**
 * chokidar over the whole tree at any depth, never following symlinks (a symlinked directory
 * could lead out of the root).
 *
 * With inotify, chokidar watches directories only: every file is `ignored`, and file creations,
 * deletions and renames are taken from chokidar's `raw` events of the directory watches
 * (inotify's IN_CREATE/IN_DELETE/IN_MOVED_*, which fs.watch reports as "rename"). chokidar would
 * otherwise put one more inotify watch, a stat and a Node handle on every file (10,000 files cost
 * ~400 MB and seconds of latency in bench:logwatcher) only to report appends we do not need.
 *
 * When inotify watches run out (ENOSPC, or EMFILE for instances) chokidar can only report the
 * error; the affected subtree is then watched by a second, polling chokidar instance (with its
 * ordinary add/unlink events) so no file is silently missed.
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
  const onlyDirs = (_p: string, stats?: Stats): boolean => stats !== undefined && !stats.isDirectory();
  const dirsAndLogs = (p: string, stats?: Stats): boolean =>
    stats !== undefined && !stats.isDirectory() && p !== root && !filter(rel(p));
  const base: ChokidarOptions = {
    followSymlinks: false,
    ignoreInitial: true, // the start-up reconcile covers what exists
    ignorePermissionErrors: false,
    atomic: false, // a rotation's unlink+add must stay two events; sync() looks at the present anyway
    persistent: true,
  };
  const pollingRoots = new Set<string>();
  let poller: FSWatcher | undefined;

  const wireDirs = (w: FSWatcher, kind: "inotify" | "polling"): void => {
    w.on("addDir", (p) => events.dirAdded(rel(p), performance.now()));
    w.on("unlinkDir", (p) => events.dirGone(rel(p)));
    w.on("error", (e) => void onError(e, kind));
  };
  const wireFiles = (w: FSWatcher): void => {
    w.on("add", (p) => events.path(rel(p), performance.now()));
    w.on("unlink", (p) => events.path(rel(p), performance.now()));
    w.on("change", (p) => events.path(rel(p), performance.now()));
  };
  const wireRaw = (w: FSWatcher): void => {
    w.on("raw", (event, name: string | null, details: unknown) => {
      // "change" is a write or attribute change to a child: appends need no spool work.
      const dir = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
      if (event !== "rename" || !name || typeof dir !== "string") return;
      events.path(rel(join(dir, name)), performance.now());
    });
  };

  const startPolling = async (absDir: string, code: string): Promise<void> => {
    const relDir = rel(absDir);
    for (const r of pollingRoots) if (relDir === r || relDir.startsWith(`${r}/`) || r === "") return;
    pollingRoots.add(relDir);
    log.warn(
      { dir: absDir, code, pollingIntervalMs: opts.pollingIntervalMs, pollingSubtrees: pollingRoots.size },
      code === "ENOSPC"
        ? "inotify watches exhausted (raise fs.inotify.max_user_watches); polling this subtree instead"
        : "inotify instances exhausted (raise fs.inotify.max_user_instances); polling this subtree instead",
    );
    if (!poller) {
      poller = watch(absDir, {
        ...base,
        ignored: dirsAndLogs,
        usePolling: true,
        interval: opts.pollingIntervalMs,
      });
      wireDirs(poller, "polling");
      wireFiles(poller);
    } else {
      poller.add(absDir);
    }
    events.polling(relDir, code, pollingRoots.size);
  };

  const onError = async (e: unknown, kind: string): Promise<void> => {
    const code = errnoCode(e);
    const path = typeof e === "object" && e !== null && "path" in e ? String(e.path) : undefined;
    if ((code === "ENOSPC" || code === "EMFILE") && path !== undefined && kind === "inotify") {
      let dir = path;
      try {
        if (!(await lstat(path)).isDirectory()) dir = dirname(path);
      } catch {
        dir = dirname(path);
      }
      if (dir === root || dir.startsWith(`${root}/`)) {
        await startPolling(dir, code);
        return;
      }
    }
    events.error(code ?? "watch", e);
  };

  let main: FSWatcher;
  if (opts.usePolling) {
    main = watch(root, { ...base, ignored: dirsAndLogs, usePolling: true, interval: opts.pollingIntervalMs });
    wireDirs(main, "polling");
    wireFiles(main);
  } else {
    main = watch(root, { ...base, ignored: onlyDirs });
    wireDirs(main, "inotify");
    wireRaw(main);
  }
  await new Promise<void>((resolve) => main.once("ready", () => resolve()));
  return {
    pollingRoots,
    isWatched: (relDir) => {
      const abs = relDir === "" ? root : join(root, relDir);
      // chokidar 4 keeps one closer per watched path once fs.watch/watchFile is set on it.
      return main._closers.has(abs) || (poller?._closers.has(abs) ?? false);
    },
    async close() {
      await main.close();
      await poller?.close();
    },
  };
}

import type { Stats } from "node:fs";
import { lstat } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { type ChokidarOptions, type FSWatcher, watch } from "chokidar";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { PathFilter } from "./patterns.js";

/** What the tree watcher reports: a path (relative to the root) to look at again, or a directory gone. */
export interface TreeEvents {
  path(rel: string, eventAt: number): void;
  dirGone(rel: string): void;
  /** inotify ran out for `relDir`: it is now polled; a reconcile should cover the gap. */
  polling(relDir: string, code: string, pollingSubtrees: number): void;
  error(reason: string, err: unknown): void;
}

export interface TreeWatcher {
  readonly pollingRoots: ReadonlySet<string>;
  close(): Promise<void>;
}

/**
 * chokidar over the whole tree at any depth, never following symlinks (a symlinked directory
 * could lead out of the root). Files whose name the filter rejects are ignored, which spares one
 * inotify watch each (chokidar watches files as well as directories). When inotify watches run
 * out (ENOSPC, or EMFILE for instances) chokidar can only report the error; we then poll the
 * affected subtree with a second, polling chokidar instance so no file is silently missed.
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
  const ignored = (p: string, stats?: Stats): boolean =>
    stats !== undefined && !stats.isDirectory() && p !== root && !filter(rel(p));
  const base: ChokidarOptions = {
    followSymlinks: false,
    ignoreInitial: true, // the start-up reconcile covers what exists
    ignorePermissionErrors: false,
    atomic: false, // a rotation's unlink+add must stay two events; sync() looks at the present anyway
    ignored,
    persistent: true,
  };
  const pollingRoots = new Set<string>();
  let poller: FSWatcher | undefined;

  const wire = (w: FSWatcher, kind: string): void => {
    w.on("add", (p) => events.path(rel(p), performance.now()));
    w.on("change", (p) => events.path(rel(p), performance.now()));
    w.on("unlink", (p) => events.path(rel(p), performance.now()));
    w.on("unlinkDir", (p) => events.dirGone(rel(p)));
    w.on("error", (e) => void onError(e, kind));
  };

  const startPolling = async (absDir: string, code: string): Promise<void> => {
    const relDir = rel(absDir);
    for (const r of pollingRoots) if (relDir === r || relDir.startsWith(`${r}/`) || r === "") return;
    pollingRoots.add(relDir);
    log.warn(
      { dir: absDir, code, pollingIntervalMs: opts.pollingIntervalMs },
      code === "ENOSPC"
        ? "inotify watches exhausted (raise fs.inotify.max_user_watches); polling this subtree instead"
        : "inotify instances exhausted (raise fs.inotify.max_user_instances); polling this subtree instead",
    );
    if (!poller) {
      poller = watch(absDir, { ...base, usePolling: true, interval: opts.pollingIntervalMs });
      wire(poller, "polling");
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

  const main = watch(root, { ...base, usePolling: opts.usePolling, interval: opts.pollingIntervalMs });
  wire(main, opts.usePolling ? "polling" : "inotify");
  await new Promise<void>((resolve) => main.once("ready", () => resolve()));
  return {
    pollingRoots,
    async close() {
      await main.close();
      await poller?.close();
    },
  };
}

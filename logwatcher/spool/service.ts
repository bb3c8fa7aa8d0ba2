import { mkdir, realpath, stat } from "node:fs/promises";
import type { Registry } from "prom-client";
import { BoxscopeError, errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import type { LogwatcherConfig } from "./config.js";
import { SpoolLinker } from "./linker.js";
import { createLogwatcherMetrics } from "./metrics.js";
import { compileFilter } from "./patterns.js";
import { listFiles, reconcile } from "./reconcile.js";
import { BurstReconcile, NewDirRescanner } from "./rescan.js";
import { ensureTempDir, relInsideRoot } from "./spool-dir.js";
import { type TreeWatcher, watchTree } from "./watcher.js";

/** After inotify runs out for a subtree, reconcile this soon to cover what it missed meanwhile. */
const GAP_RECONCILE_DELAY_MS = 500;

/**
 * Keeps the spool (a flat directory of symlinks) in step with the log tree: watch events link and
 * unlink as files come and go; a reconcile pass at start and every reconcileIntervalSeconds
 * repairs whatever a crash, a lost event or a full inotify table left behind.
 */
export async function startLogwatcher(
  config: LogwatcherConfig,
  deps: { logger: Logger; registry: Registry },
): Promise<RunningService> {
  const log = deps.logger.child({ service: "logwatcher" });
  const root = await realDir(config.logRoot, "logRoot");
  await mkdir(config.spool, { recursive: true, mode: 0o755 }).catch((e: unknown) => {
    throw new BoxscopeError(`logwatcher spool ${config.spool}: cannot create (${errnoCode(e) ?? String(e)})`);
  });
  const spool = await realDir(config.spool, "spool");
  if (
    spool === root ||
    relInsideRoot(root, spool) !== undefined ||
    relInsideRoot(spool, root) !== undefined
  ) {
    throw new BoxscopeError(
      `logwatcher: spool ${spool} and log root ${root} must not contain each other (containers write the log root)`,
    );
  }
  await ensureTempDir(spool);
  const filter = compileFilter(config.include, config.exclude);
  let linker: SpoolLinker | undefined;
  const metrics = createLogwatcherMetrics(deps.registry, () => linker?.linked.size ?? 0);
  linker = new SpoolLinker(root, spool, filter, metrics, log);
  const lk = linker;

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let gapTimer: NodeJS.Timeout | undefined;
  const burst = new BurstReconcile(() => void runReconcile("after burst"));
  let watcher: TreeWatcher | undefined;
  const rescanner = new NewDirRescanner(
    (relDir) => watcher?.isWatched(relDir) ?? false,
    async (relDir, at) => {
      if (stopped) return;
      for (const rel of await listFiles(root, relDir)) {
        // Only what the watch missed: a linked or queued path has had its event.
        if (filter(rel) && !lk.isLinkedOrPending(rel)) void lk.sync(rel, at);
      }
    },
  );
  const runReconcile = (why: string): Promise<unknown> => {
    running = running.then(async () => {
      if (stopped) return;
      const started = performance.now();
      try {
        const r = await reconcile({ root, spool, filter, linker: lk, metrics, log });
        const level = r.created + r.removed + r.temps > 0 || why !== "periodic" ? "info" : "debug";
        log[level]({ why, ...r, ms: Math.round(performance.now() - started) }, "reconciled");
      } catch (e) {
        metrics.errors.inc({ reason: "reconcile" });
        log.error({ why, err: e }, "reconcile failed");
      }
    });
    return running;
  };

  watcher = await watchTree({
    root,
    filter,
    usePolling: config.usePolling,
    pollingIntervalMs: config.pollingIntervalMs,
    log,
    events: {
      path: (rel, at) => {
        if (rel === "" || rel.startsWith("..") || !filter(rel)) return;
        void lk.sync(rel, at);
        burst.event();
      },
      dirGone: (relDir) => {
        for (const rel of lk.linkedUnder(relDir)) void lk.sync(rel);
      },
      dirAdded: (relDir, at) => {
        if (relDir === "" || relDir.startsWith("..")) return;
        rescanner.dirAdded(relDir, at);
      },
      polling: (_relDir, code, total) => {
        metrics.errors.inc({
          reason: code === "ENOSPC" ? "inotify_watches_exhausted" : "inotify_instances_exhausted",
        });
        metrics.pollingSubtrees.set(total);
        clearTimeout(gapTimer);
        gapTimer = setTimeout(() => void runReconcile("polling fallback"), GAP_RECONCILE_DELAY_MS);
      },
      error: (reason, err) => {
        metrics.errors.inc({ reason: `watch_${reason}` });
        log.error({ err }, "watch error");
      },
    },
  });
  metrics.pollingSubtrees.set(watcher.pollingRoots.size);
  const tree = watcher;
  log.info({ logRoot: root, spool, include: config.include, exclude: config.exclude }, "watching");
  await runReconcile("start");
  const timer = setInterval(() => void runReconcile("periodic"), config.reconcileIntervalSeconds * 1000);

  return {
    name: "logwatcher",
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(gapTimer);
      rescanner.stop();
      burst.stop();
      await tree.close();
      await running;
      await lk.drain();
      log.info({ links: lk.linked.size }, "stopped");
    },
  };
}

async function realDir(path: string, key: string): Promise<string> {
  try {
    const real = await realpath(path);
    if (!(await stat(real)).isDirectory())
      throw new BoxscopeError(`logwatcher ${key} ${path}: not a directory`);
    return real;
  } catch (e) {
    if (e instanceof BoxscopeError) throw e;
    throw new BoxscopeError(`logwatcher ${key} ${path}: ${errnoCode(e) ?? String(e)}`);
  }
}

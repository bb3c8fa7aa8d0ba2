import { realpath, stat } from "node:fs/promises";
import type { Registry } from "prom-client";
import { makeDirs } from "../../common/dirs.js";
import { BoxscopeError, errnoCode } from "../../common/errors.js";
import { absUnder, lstatOrGone } from "../../common/files/eligibility.js";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import { startJournalFollower } from "../host-journal/follower.js";
import { type LogTree, logTrees } from "../sources.js";
import type { LogwatcherConfig } from "./config.js";
import { SpoolLinker } from "./linker.js";
import { createLogwatcherMetrics, type LogwatcherMetrics, registerJournalMetrics } from "./metrics.js";
import { PathQueue } from "./path-queue.js";
import { compileFilter } from "./patterns.js";
import { catchUp, reconcile } from "./reconcile.js";
import { ActivityCatchUp } from "./rescan.js";
import { ensureTempDir, relInsideRoot } from "./spool-dir.js";
import { type TreeWatcher, watchTree } from "./watcher.js";

/** After inotify runs out for a subtree, reconcile this soon to cover what it missed meanwhile. */
const GAP_RECONCILE_DELAY_MS = 500;

/**
 * Keeps each log tree's spool (a flat directory of symlinks) in step with the tree: the host log
 * root's, and those of the trees beside it (Docker's and the pods' stdout/stderr logs, the host's;
 * see sources.ts). Per tree, watch events link and unlink as files come and go; a reconcile pass
 * at start and every reconcileIntervalSeconds repairs whatever a crash, a lost event or a full
 * inotify table left behind.
 */
export async function startLogwatcher(
  config: LogwatcherConfig,
  deps: { logger: Logger; registry: Registry; stop?: AbortSignal },
): Promise<RunningService> {
  const log = deps.logger.child({ service: "logwatcher" });
  const trees = logTrees(config, config);
  const watches: TreeWatch[] = [];
  // The journal as a file of JSON lines in journalDir, before the trees: its tree is that directory.
  const journal =
    config.hostLogs === "journal"
      ? await startJournalFollower(
          {
            outputDir: config.journalDir,
            startAt: config.journalStartAt,
            ...(config.journalDirectory ? { journalDirectory: config.journalDirectory } : {}),
          },
          { logger: log },
        )
      : undefined;
  try {
    // Every tree's directories are checked before anything is registered or watched.
    const opened: TreeDirs[] = [];
    for (const tree of trees) opened.push(await openTreeDirs(tree));
    const m = createLogwatcherMetrics(deps.registry, () => watches.reduce((n, w) => n + w.linkCount(), 0));
    if (journal) registerJournalMetrics(deps.registry, () => journal.stats);
    // Subtrees polled for want of inotify watches, per tree: the gauge shows their sum.
    const polled = new Map<LogTree, number>();
    const setPolled = (tree: LogTree, n: number) => {
      polled.set(tree, n);
      m.pollingSubtrees.set([...polled.values()].reduce((a, b) => a + b, 0));
    };
    // One pass over a tree at a time, across the trees too: after a burst in all of them their
    // catch-up passes come due together, and three walks at once would triple the share of the
    // event loop taken from the watch events.
    const passes: PassChain = { running: Promise.resolve() };
    for (const { tree, root, spool } of opened)
      watches.push(
        await watchLogTree(tree, root, spool, config, {
          log,
          metrics: m,
          passes,
          stop: deps.stop,
          setPolled: (n) => setPolled(tree, n),
        }),
      );
  } catch (e) {
    for (const w of watches) await w.stop();
    await journal?.stop();
    throw e;
  }
  return {
    name: "logwatcher",
    async stop() {
      for (const w of watches) await w.stop();
      await journal?.stop();
    },
  };
}

/** The passes (reconcile, catch-up) of all trees, chained so that one runs at a time. */
interface PassChain {
  running: Promise<unknown>;
}

interface TreeWatch {
  linkCount(): number;
  stop(): Promise<void>;
}

/** A tree with its root and spool resolved (real paths), the spool made. */
interface TreeDirs {
  tree: LogTree;
  root: string;
  spool: string;
}

async function openTreeDirs(tree: LogTree): Promise<TreeDirs> {
  const rootKey = tree.kind === "app" ? "logRoot" : `${tree.kind} log root`;
  const root = await realDir(tree.root, rootKey);
  makeDirs(tree.spool, "logwatcher spool");
  const spool = await realDir(tree.spool, "spool");
  if (
    spool === root ||
    relInsideRoot(root, spool) !== undefined ||
    relInsideRoot(spool, root) !== undefined
  ) {
    throw new BoxscopeError(
      "BXS_DIRECTORY_UNUSABLE",
      `logwatcher: spool ${spool} and ${rootKey} ${root} must not contain each other (containers write the log root)`,
    );
  }
  return { tree, root, spool };
}

async function watchLogTree(
  tree: LogTree,
  root: string,
  spool: string,
  config: Pick<LogwatcherConfig, "reconcileIntervalSeconds" | "usePolling" | "pollingIntervalMs">,
  deps: {
    log: Logger;
    metrics: LogwatcherMetrics;
    passes: PassChain;
    stop?: AbortSignal | undefined;
    /** Subtrees of this tree polled because inotify ran out. */
    setPolled(n: number): void;
  },
): Promise<TreeWatch> {
  const { metrics } = deps;
  const log = tree.kind === "app" ? deps.log : deps.log.child({ tree: tree.kind });
  ensureTempDir(spool);
  const filter = compileFilter(tree.include, tree.exclude);
  const lk = new SpoolLinker(root, spool, filter, metrics, log);

  let stopped = false;
  const { passes } = deps;
  let gapTimer: NodeJS.Timeout | undefined;
  let watcher: TreeWatcher | undefined;
  /** Passes over a whole tree (reconcile, catch-up) run one at a time, and none after stop. */
  const inTurn = (pass: () => Promise<void>): Promise<unknown> => {
    passes.running = passes.running.then(() => (stopped ? undefined : pass()));
    return passes.running;
  };
  const catchUpAfterActivity = new ActivityCatchUp(() => {
    void inTurn(async () => {
      const started = performance.now();
      const watching = watcher;
      const fixed = await catchUp({
        root,
        filter,
        linker: lk,
        metrics,
        log,
        isPending: (rel) => queue.has(rel),
        dirs: watching && {
          found: (relDir) => {
            // A directory without its watch (a lost event): watch it, look at its files.
            if (!watching.isPolled(relDir) && !watching.isWatched(relDir))
              queue.add(relDir, performance.now());
          },
          notFound: (seen) => {
            // A watch whose directory is gone (its parent's event was lost): drop it and its links.
            for (const relDir of [...watching.inotifyDirs()])
              if (!seen.has(relDir)) queue.add(relDir, performance.now());
          },
        },
      }).catch((e: unknown) => {
        log.error({ err: e }, "catch-up pass failed");
        return 0;
      });
      const level = fixed > 0 ? "warn" : "debug";
      log[level]({ fixed, ms: Math.round(performance.now() - started) }, "caught up with the tree");
    });
  });
  /**
   * Every name an event (or a new directory's listing) reports is looked at here, once however
   * many events named it: one lstat tells a directory (watch it) from a file (hand the lstat to
   * the linker, which needs one more call to check it and one to link it).
   */
  const examine = (rel: string, eventAt: number): void => {
    if (rel === "" || rel.startsWith("..")) return;
    const st = lstatOrGone(absUnder(root, rel)); // rel is normalized: watch names, tree walks
    const stats = "ok" in st ? undefined : st;
    const watchedIno = watcher?.watchedIno(rel);
    // Gone, no longer a directory, or another directory now (renamed away and made again: the
    // old watch follows the old inode): drop the watches below and look again at the links there.
    if (watchedIno !== undefined && (!stats?.isDirectory() || stats.ino !== watchedIno)) {
      watcher?.forget(rel);
      for (const r of lk.linkedUnder(rel)) lk.sync(r);
    }
    if (stats?.isDirectory()) watcher?.dirAppeared(rel, eventAt);
    if (filter(rel)) lk.sync(rel, eventAt, stats);
  };
  const queue = new PathQueue(examine, { overflow: () => catchUpAfterActivity.activity() });
  const runReconcile = (why: string, stop?: AbortSignal): Promise<unknown> =>
    inTurn(async () => {
      const started = performance.now();
      try {
        const r = await reconcile({ root, spool, filter, linker: lk, metrics, log, stop });
        const level = r.created + r.removed + r.temps > 0 || why !== "periodic" ? "info" : "debug";
        log[level]({ why, ...r, ms: Math.round(performance.now() - started) }, "reconciled");
      } catch (e) {
        metrics.errors.inc({ reason: "reconcile" });
        log.error({ why, err: e }, "reconcile failed");
      }
    });

  watcher = await watchTree({
    root,
    filter,
    usePolling: config.usePolling,
    pollingIntervalMs: config.pollingIntervalMs,
    log,
    events: {
      entry: (rel, at) => {
        queue.add(rel, at);
        catchUpAfterActivity.activity();
      },
      dirGone: (relDir) => {
        for (const rel of lk.linkedUnder(relDir)) queue.add(rel, performance.now());
        catchUpAfterActivity.activity();
      },
      polling: (_relDir, code, total) => {
        metrics.errors.inc({
          reason: code === "ENOSPC" ? "inotify_watches_exhausted" : "inotify_instances_exhausted",
        });
        deps.setPolled(total);
        clearTimeout(gapTimer);
        gapTimer = setTimeout(() => void runReconcile("polling fallback"), GAP_RECONCILE_DELAY_MS);
      },
      error: (reason, err) => {
        metrics.errors.inc({ reason: `watch_${reason}` });
        log.error({ err }, "watch error");
      },
    },
  });
  deps.setPolled(config.usePolling ? 0 : watcher.pollingRoots.size);
  const treeWatcher = watcher;
  log.info({ logRoot: root, spool, include: tree.include, exclude: tree.exclude }, "watching");
  // A stop requested during start-up cuts the first pass short (the next start does it whole):
  // otherwise a big tree on a loaded host outlasts the time a signal waits for start-up to end.
  await runReconcile("start", deps.stop);
  const timer = setInterval(() => void runReconcile("periodic"), config.reconcileIntervalSeconds * 1000);

  return {
    linkCount: () => lk.linked.size,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(gapTimer);
      catchUpAfterActivity.stop();
      queue.stop();
      await treeWatcher.close();
      await passes.running;
      log.info({ links: lk.linked.size }, "stopped");
    },
  };
}

async function realDir(path: string, key: string): Promise<string> {
  try {
    const real = await realpath(path);
    if (!(await stat(real)).isDirectory())
      throw new BoxscopeError("BXS_DIRECTORY_UNUSABLE", `logwatcher ${key} ${path}: not a directory`);
    return real;
  } catch (e) {
    if (e instanceof BoxscopeError) throw e;
    throw new BoxscopeError(
      "BXS_DIRECTORY_UNUSABLE",
      `logwatcher ${key} ${path}: ${errnoCode(e) ?? String(e)}`,
    );
  }
}

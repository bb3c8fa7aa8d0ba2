import { constants } from "node:os";
import { dirname, resolve } from "node:path";
import { makeDirs } from "../../common/dirs.js";
import { BoxscopeError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import { type CallerIdentity, parseCallerKey } from "../caller.js";
import {
  type FuseBinding,
  filePathOfView,
  HANDED_OVER,
  loadFuseBinding,
  type MountHandle,
  type NativeMountOptions,
  type NativeRender,
  type NativeStats,
  type TakeOverResult,
} from "../native/binding.js";
import type { FdStore } from "./fdstore.js";
import { healStaleBinds, liveDev, readServedDevs, rememberServedDev } from "./heal.js";
import { prepareMountpoint } from "./mountpoint.js";

/**
 * What the mount serves: the bytes of one view (a path below the mountpoint, "proc/meminfo") for the
 * reader `caller`, as the binding resolved it when the read arrived (its pid, a host thread id, may
 * be another process's by now: render for the identity, never look the pid up again). The binding
 * caches the answer under that identity, unless it comes as `{ uncached }` (a container still
 * settling: see shim/render.ts). Throwing fails that one open with EIO.
 */
export type ViewSource = (
  path: string,
  caller: CallerIdentity,
) => string | Buffer | { uncached: string | Buffer };

export interface ShimMountOptions {
  mountpoint: string;
  /** Paths below the mountpoint, e.g. VIEW_PATHS. */
  files: readonly string[];
  cacheTtlMs: number;
  threads: number;
  /** How long (µs) a loop thread polls for the next request before it sleeps (default 0: never). */
  spinUs?: number | undefined;
  /** Extra FUSE mount options, comma-separated. */
  mountOptions?: string | undefined;
  /** Repair containers' binds of a dead daemon's files after mounting (default true). */
  healStale?: boolean | undefined;
  /**
   * Unix socket of the live-connection handover: first ask a daemon listening there to hand its
   * mount over (no mount of our own then), then listen there for our own successor.
   */
  handoverSocket?: string | undefined;
  /**
   * systemd's fd store (fdstore.ts): serve the connection it passed back instead of mounting, and
   * leave the connection there at stop when it allows storing.
   */
  fdStore?: FdStore | undefined;
}

export interface RunningShimMount extends RunningService {
  readonly mountpoint: string;
  stats(): NativeStats;
  /** Stale binds replaced (and not) in running containers at start. */
  repaired(): { rebound: number; failed: number };
  /** This daemon took the live connection over from a running one instead of mounting. */
  readonly tookOver: boolean;
}

const EIO = constants.errno.EIO;
/** Distinct error causes remembered for log-once; past this the set starts over (bounded memory). */
const MAX_REMEMBERED_CAUSES = 1000;
const STOP_TIMEOUT_MS = 5000;

/**
 * Mounts the views with the native FUSE binding. The binding's threads serve lookups and reads; an
 * open asks `source` (on this, the JavaScript thread) unless the C-side cache has the bytes.
 */
export async function startShimMount(
  opts: ShimMountOptions,
  deps: { logger: Logger; source: ViewSource; binding?: FuseBinding },
): Promise<RunningShimMount> {
  const log = deps.logger.child({ component: "fuse-mount" });
  const binding = deps.binding ?? loadFuseBinding();
  const mountpoint = resolve(opts.mountpoint);
  const render = renderWithLogOnce(opts.files, deps.source, log);
  let stopping = false;
  let handedOver = false;
  let storing = false;
  let onExit: (code: number) => void = () => {};
  const exited = new Promise<number>((res) => {
    onExit = res;
  });
  const nativeOptions: NativeMountOptions = {
    mountpoint,
    files: opts.files,
    cacheTtlMs: opts.cacheTtlMs,
    maxThreads: opts.threads,
    ...(opts.spinUs !== undefined ? { spinUs: opts.spinUs } : {}),
    ...(opts.mountOptions ? { mountOptions: opts.mountOptions } : {}),
    ...(opts.handoverSocket ? { handoverSocket: opts.handoverSocket } : {}),
  };
  const fdStore = opts.fdStore;
  let taken =
    fdStore && fdStore.passed.length > 0
      ? takeStored(binding, nativeOptions, render, (code) => onExit(code), fdStore, log)
      : undefined;
  if (!taken && opts.handoverSocket)
    taken = takeOverRunning(binding, nativeOptions, render, (code) => onExit(code), log);
  let deadDevs: string[] = [];
  let handle: MountHandle;
  if (taken) {
    handle = taken;
  } else {
    deadDevs = prepareMountpoint(mountpoint, binding, log).deadDevs;
    handle = binding.mount(nativeOptions, render, (code) => onExit(code));
  }
  // Before "mounted" is logged: a supervisor (or test) waiting for it sees running containers repaired.
  const repaired = { rebound: 0, failed: 0 };
  try {
    const dev = liveDev(mountpoint);
    const served = readServedDevs(mountpoint);
    if (dev !== undefined) rememberServedDev(mountpoint, dev);
    if (opts.healStale !== false) {
      const dead = new Set([...served, ...deadDevs].filter((d) => d !== dev));
      const healed = await healStaleBinds(mountpoint, dead, binding, log);
      repaired.rebound = healed.rebound;
      repaired.failed = healed.failed;
      if (healed.namespaces > 0) log.info({ ...healed }, "stale bind mounts repaired");
    }
  } catch (e) {
    log.warn({ err: e }, "could not look for stale bind mounts");
  }
  log.info(
    { mountpoint, files: opts.files.length, cacheTtlMs: opts.cacheTtlMs, tookOver: taken !== undefined },
    "mounted",
  );

  const done = exited.then((code) => {
    if (code === HANDED_OVER) {
      handedOver = true;
      if (!storing)
        log.info({ mountpoint, ...binding.stats(handle) }, "handed the live mount over to a new daemon");
      return;
    }
    if (!stopping)
      throw new BoxscopeError(
        "BXS_FUSE_SESSION_ENDED",
        `FUSE session at ${mountpoint} ended on its own (code ${code})`,
        {
          context: { mountpoint, code },
        },
      );
  });
  // Without a listener an early end would be an unhandled rejection before runUntilSignal awaits it.
  done.catch(() => {});

  return {
    name: "shim-mount",
    mountpoint,
    done,
    stats: () => binding.stats(handle),
    repaired: () => repaired,
    tookOver: taken !== undefined,
    async stop() {
      // After a handover the mount is the successor's: no unmount, no abort.
      if (stopping || handedOver) return;
      stopping = true;
      const timeout = (): Promise<"timeout"> =>
        new Promise((res) => setTimeout(res, STOP_TIMEOUT_MS, "timeout").unref());
      if (fdStore?.storeAtStop) {
        storing = true;
        const why = await binding.store(handle, fdStore.socket);
        if (why === null) {
          // The loop ends without unmounting: the next start serves the connection systemd holds.
          await Promise.race([exited, timeout()]);
          log.info({ mountpoint, ...binding.stats(handle) }, "left the live mount in systemd's fd store");
          return;
        }
        storing = false;
        log.warn({ mountpoint, reason: why }, "could not leave the live mount with systemd; unmounting");
      }
      binding.stop(handle);
      const how = await Promise.race([exited, timeout()]);
      if (how === "timeout") log.warn({ mountpoint }, "FUSE loop did not end in time; exiting anyway");
      log.info({ mountpoint, ...binding.stats(handle) }, "unmounted");
    },
  };
}

/**
 * The live mount of a daemon listening on the handover socket, taken over; undefined when there is
 * none (or it went away mid-way): then mount as usual. Throws when it refused (it serves on).
 */
function takeOverRunning(
  binding: FuseBinding,
  options: NativeMountOptions,
  render: NativeRender,
  onExit: (code: number) => void,
  log: Logger,
): MountHandle | undefined {
  const socket = options.handoverSocket ?? "";
  makeDirs(dirname(socket), "handover socket directory");
  let r: TakeOverResult;
  try {
    r = binding.takeOver(options, render, onExit);
  } catch (e) {
    throw new BoxscopeError(
      "BXS_HANDOVER_REFUSED",
      `mountpoint ${options.mountpoint}: a daemon is serving it and did not hand it over: ${(e as Error).message}`,
      { context: { mountpoint: options.mountpoint, socket }, cause: e },
    );
  }
  if (r.handle === undefined) {
    if (r.fallback) log.warn({ socket, reason: r.fallback }, "handover failed; mounting anew");
    return undefined;
  }
  log.info(
    { mountpoint: options.mountpoint, socket, handoverMs: Math.round(r.handoverMs * 1000) / 1000 },
    "took the live mount over from the running daemon",
  );
  if (r.listenError)
    log.warn({ socket, err: r.listenError }, "no handover socket: the next upgrade mounts anew");
  return r.handle;
}

/**
 * The live mount that systemd kept in its fd store across a restart, served; undefined when the fds
 * it passed are not a connection of this mountpoint (then mount as usual: dropping them from the
 * store ended that connection).
 */
function takeStored(
  binding: FuseBinding,
  options: NativeMountOptions,
  render: NativeRender,
  onExit: (code: number) => void,
  fdStore: FdStore,
  log: Logger,
): MountHandle | undefined {
  const r = binding.takeStored(options, render, onExit, fdStore.passed, fdStore.socket);
  if (r.handle === undefined) {
    log.warn({ reason: r.fallback }, "could not serve the connection systemd kept; mounting anew");
    return undefined;
  }
  log.info(
    { mountpoint: options.mountpoint, handoverMs: Math.round(r.handoverMs * 1000) / 1000 },
    "took the live mount over from systemd's fd store",
  );
  if (r.dropError) log.warn({ err: r.dropError }, "systemd did not confirm it dropped the stored connection");
  if (r.listenError) log.warn({ err: r.listenError }, "no handover socket: the next upgrade mounts anew");
  return r.handle;
}

/**
 * Wraps the view source for the binding: a throw becomes EIO for that open, and each distinct cause
 * is logged once (a vanished cgroup polled by `top` every second must not flood the log).
 */
export function renderWithLogOnce(files: readonly string[], source: ViewSource, log: Logger): NativeRender {
  const seen = new Set<string>();
  return (view, pid, uid, gid, callerKey) => {
    const path = filePathOfView(files, view);
    if (path === undefined) return -EIO;
    try {
      const caller = parseCallerKey(pid, callerKey);
      if (caller === undefined) throw new Error("the binding sent no caller identity");
      return source(path, caller);
    } catch (e) {
      const cause = causeOf(path, e);
      if (!seen.has(cause)) {
        if (seen.size >= MAX_REMEMBERED_CAUSES) seen.clear();
        seen.add(cause);
        log.warn(
          { view: path, callerPid: pid, uid, gid, err: e },
          "view failed; answering EIO (logged once per cause)",
        );
      }
      return -EIO;
    }
  };
}

/** The same failure for another pid or cgroup is the same cause: digits are masked. */
function causeOf(path: string, e: unknown): string {
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "";
  const message = e instanceof Error ? e.message : String(e);
  return `${path}|${e instanceof Error ? e.name : typeof e}|${code}|${message.replace(/[0-9a-f]{12,}|\d+/g, "N")}`;
}

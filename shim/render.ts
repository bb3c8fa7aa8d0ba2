/**
 * The glue between a reader of a view and its text, in named parts under renderer/: which cgroup a
 * reader is served from (callers.ts), the per-container state and share-window caches
 * (container-state.ts), the host's files (host-files.ts), a rendering's inputs read through those
 * caches (container-inputs.ts), and one function per view calling the pure renderers in views/
 * (view-families.ts). The FUSE daemon (shim/fuse) and `boxscope shim render` both go through
 * createViewRenderer, so the CLI prints exactly what the mount serves.
 *
 * A reader is named by its identity (./caller.ts: pid namespace + /proc/<pid>/cgroup, read once
 * when the read arrives), never by a pid alone: a pid may be another process's by the time it is
 * looked up, so what is rendered is always a function of the identity (plus, for a container's
 * namespace, its init, looked for only inside that namespace).
 *
 * Cost model (a read through the mount must stay within a few times the kernel's own /proc; the
 * mount's own cache answers most reads without JavaScript): a render for a host-namespace reader costs a map lookup; for a
 * container's namespace, three /proc reads (its known init's cgroups, and that it still runs
 * there); then a map lookup while the container's text for that view is younger than the share
 * window; cgroup and host files are read at most once per window per container (controller by
 * controller, only those the view needs).
 */
import { handleExists, handleForPath, normalizeCgroupPath } from "../cgroup/handle.js";
import type { LoadavgSampler } from "../cgroup/loadavg/sampler.js";
import { readCgroupMounts } from "../cgroup/mounts.js";
import type { CgroupMounts } from "../cgroup/types.js";
import { UsageError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { type CallerIdentity, readCallerIdentity } from "./caller.js";
import { CallerResolver, type NamespaceInit, type Resolved } from "./renderer/callers.js";
import { ContainerInputs, type RenderEnvironment } from "./renderer/container-inputs.js";
import { type ContainerState, ContainerStates, IDLE_FORGET_MS } from "./renderer/container-state.js";
import { HostFiles } from "./renderer/host-files.js";
import { viewOfContainer } from "./renderer/view-families.js";
import { type ParsedViewPath, parseViewPath, VIEW_PATHS } from "./view-paths.js";
import { CACHE_AS_USED_NONE, type CacheAsUsed } from "./views/meminfo.js";

export type { CallerIdentity } from "./caller.js";
export { SETTLE_MS } from "./renderer/container-state.js";
export { isViewPath, parseViewPath, VIEW_PATHS, type ViewPath, viewPathsOfCpu } from "./view-paths.js";
export type { CacheAsUsed } from "./views/meminfo.js";

/**
 * Reads of the same container within this window share one reading of its cgroup and host files
 * and, for the same view, the same text. 100 ms: LXCFS re-reads everything on every read and burns
 * CPU when containers poll in tight loops (its issues 446, 655); a 100 ms window caps that at 10
 * readings per second per container, while staying ten times finer than top's fastest default
 * refresh (1 s, and ≥ 0.1 s with -d) and equal to 10 USER_HZ ticks, below which /proc/stat deltas
 * are mostly zero anyway.
 */
export const DEFAULT_SHARE_WINDOW_MS = 100;

export interface ViewRendererOptions {
  /** Where host /proc is (fixture trees in tests). Default /proc. */
  readonly procRoot?: string;
  /** Where the host files the views fall back to are (meminfo, stat...). Default procRoot. */
  readonly hostProcRoot?: string;
  /** Where host /sys is (cpu/online). Default /sys. */
  readonly sysRoot?: string;
  /** Cgroup hierarchies; default read from <procRoot>/self/mountinfo once. */
  readonly mounts?: CgroupMounts;
  /** CPU count from the CFS quota (default on; LXCFS's --enable-cfs is off by default). */
  readonly cfsQuota?: boolean;
  readonly cacheAsUsed?: CacheAsUsed;
  /** Per-container load averages; without one, loadavg's three loads are the host's. */
  readonly sampler?: LoadavgSampler;
  readonly logger?: Logger;
  readonly shareWindowMs?: number;
  /** Monotonic clock in ms (tests). Default performance.now. */
  readonly now?: () => number;
}

/** A view as served to a reader, and whether its bytes may be shared with the container's next readers. */
export interface ServedView {
  readonly text: string;
  /** False while the container is settling (SETTLE_MS): the next read must render afresh. */
  readonly shareable: boolean;
}

/**
 * Every method throws a UsageError for what it was asked that does not exist (its code says which:
 * BXS_VIEW_UNKNOWN, BXS_PID_INVALID, BXS_PROCESS_NOT_FOUND, BXS_CGROUP_NOT_FOUND); nothing read
 * from a cgroup or the host makes a rendering fail.
 */
export interface ViewRenderer {
  /**
   * The view as the reader `caller` must see it: the cgroup of the init of its pid namespace (host
   * pid namespace, or no init found in it: the caller's own cgroup).
   */
  renderForCaller(view: string, caller: CallerIdentity): ServedView;
  /** renderForCaller for the process `pid` as it is now (its identity read from /proc). */
  renderForPid(view: string, pid: number): string;
  /** The view for a cgroup path (inside the hierarchy, e.g. `/docker/<id>`). */
  renderForCgroup(view: string, cgroupPath: string): string;
  /** The host's own file for a view (what a host process sees; a safe fallback). */
  renderForHost(view: string): string;
  /** The cgroup path whose numbers `pid` is served (`/` = host values); undefined if no such process. */
  cgroupForPid(pid: number): string | undefined;
  /** Drops per-container state not used for `idleMs` (bounded memory with container churn). */
  forgetIdle(idleMs?: number): void;
}

export function createViewRenderer(opts: ViewRendererOptions = {}): ViewRenderer {
  const procRoot = opts.procRoot ?? "/proc";
  const sysRoot = opts.sysRoot ?? "/sys";
  const mounts = opts.mounts ?? readCgroupMounts(procRoot);
  const windowMs = Math.max(0, opts.shareWindowMs ?? DEFAULT_SHARE_WINDOW_MS);
  const now = opts.now ?? (() => performance.now());
  const host = new HostFiles({ hostProcRoot: opts.hostProcRoot ?? procRoot, sysRoot, windowMs });
  const env: RenderEnvironment = {
    procRoot,
    sysRoot,
    windowMs,
    cfsQuota: opts.cfsQuota ?? true,
    cacheAsUsed: opts.cacheAsUsed ?? CACHE_AS_USED_NONE,
    sampler: opts.sampler,
    log: opts.logger,
    host,
  };
  const containers = new ContainerStates(now());
  const callers = new CallerResolver(procRoot, mounts);

  /** The container's view, remembered for the share window; never an error (a bug serves the host's file). */
  function renderContainer(
    parsed: ParsedViewPath,
    c: ContainerState,
    init: NamespaceInit | undefined,
    at: number,
  ): string {
    return c.texts.get(parsed.path, at, c.windowAt(at, windowMs), () => {
      try {
        return viewOfContainer(new ContainerInputs(env, c, init, at), parsed);
      } catch (e) {
        // A bug or an unexpected kernel format must never fail a read of /proc/meminfo in a container:
        // the host's file, except in the CPU directory, where it would show the host's CPUs.
        const cpuDir = parsed.view.startsWith("sys/");
        env.log?.error(
          { view: parsed.path, cgroup: c.handle.path, err: e },
          cpuDir ? "rendering failed; serving an empty file" : "rendering failed; serving the host's file",
        );
        return cpuDir ? "" : host.text(parsed.path, at);
      }
    });
  }

  function renderResolved(parsed: ParsedViewPath, r: Resolved): ServedView {
    const at = now();
    // A host process (root cgroup) sees the host's own file.
    if (r.cgroupPath === "/") return { text: host.text(parsed.path, at), shareable: true };
    const c = containers.containerFor(r.handle, at);
    return { text: renderContainer(parsed, c, r.init, at), shareable: !c.settling(at) };
  }

  return {
    renderForCaller(view, caller) {
      return renderResolved(viewPathOf(view), callers.resolve(caller));
    },
    renderForPid(view, pid) {
      const parsed = viewPathOf(view);
      if (!Number.isInteger(pid) || pid <= 0)
        throw new UsageError("BXS_PID_INVALID", `invalid pid ${pid}`, { context: { pid } });
      const caller = readCallerIdentity(pid, procRoot);
      if (caller === undefined)
        throw new UsageError("BXS_PROCESS_NOT_FOUND", `no such process: pid ${pid}`, { context: { pid } });
      return renderResolved(parsed, callers.resolve(caller)).text;
    },
    renderForCgroup(view, cgroupPath) {
      const parsed = viewPathOf(view);
      const path = normalizeCgroupPath(cgroupPath);
      const at = now();
      if (path === "/") return host.text(parsed.path, at);
      const handle = containers.get(path)?.handle ?? handleForPath(mounts, path);
      if (!handleExists(handle)) {
        containers.delete(path);
        throw new UsageError("BXS_CGROUP_NOT_FOUND", `no such cgroup: ${path}`, {
          context: { cgroup: path },
        });
      }
      return renderContainer(parsed, containers.containerFor(handle, at), undefined, at);
    },
    renderForHost(view) {
      return host.text(viewPathOf(view).path, now());
    },
    cgroupForPid(pid) {
      const caller = readCallerIdentity(pid, procRoot);
      return caller === undefined ? undefined : callers.resolve(caller).cgroupPath;
    },
    forgetIdle(idleMs = IDLE_FORGET_MS) {
      containers.forgetIdle(now(), idleMs);
    },
  };
}

/** The served path `view`, parsed; a UsageError when it is none. */
function viewPathOf(view: string): ParsedViewPath {
  const parsed = parseViewPath(view);
  if (parsed === undefined) {
    throw new UsageError(
      "BXS_VIEW_UNKNOWN",
      `unknown view "${view}" (expected one of ${VIEW_PATHS.join(", ")}, with a CPU number for cpu*)`,
      { context: { view } },
    );
  }
  return parsed;
}

/**
 * The glue between a reader of a view and its text: which cgroup a process's reads belong to,
 * reading that cgroup and the host files, keeping the per-container state (monotonic stat), and
 * calling the pure renderers in views/. The FUSE daemon (shim/fuse) and `boxscope shim render` both
 * go through createViewRenderer, so the CLI prints exactly what the mount serves.
 *
 * A reader is named by its identity (./caller.ts: pid namespace + /proc/<pid>/cgroup, read once
 * when the read arrives), never by a pid alone: a pid may be another process's by the time it is
 * looked up, so what is rendered is always a function of the identity (plus, for a container's
 * namespace, its init, looked for only inside that namespace).
 *
 * Cost model (the FUSE target is ~70 µs per open+read+close; the mount's own cache answers most
 * reads without JavaScript): a render for a host-namespace reader costs a map lookup; for a
 * container's namespace, three /proc reads (its known init's cgroups, and that it still runs
 * there); then a map lookup while the container's text for that view is younger than the share
 * window; cgroup and host files are read at most once per window per container (controller by
 * controller, only those the view needs).
 */
import { join } from "node:path";
import { readCpu } from "../cgroup/cpu.js";
import { readQuiet } from "../cgroup/fsread.js";
import { handleExists, handleForPath, normalizeCgroupPath, resolveHandle } from "../cgroup/handle.js";
import { parseCpuinfo, parseDiskstats, parseMeminfo, parseStat, parseUptime } from "../cgroup/host.js";
import { readIo } from "../cgroup/io.js";
import type { LoadavgSampler } from "../cgroup/loadavg/sampler.js";
import { readMemory } from "../cgroup/memory.js";
import { readCgroupMounts } from "../cgroup/mounts.js";
import { readPressure } from "../cgroup/pressure.js";
import { parseProcCgroup } from "../cgroup/proc-cgroup.js";
import { findNamespaceInit, readPidNamespace, readProcStartTicks } from "../cgroup/process.js";
import { countTasks, readCgroupPids, readCgroupPidsRecursive } from "../cgroup/tasks.js";
import type {
  CgroupHandle,
  CgroupMounts,
  CpuData,
  HostCpuinfo,
  HostDiskstat,
  HostMeminfo,
  HostStat,
  IoData,
  MemoryData,
  PressureData,
  TaskCounts,
} from "../cgroup/types.js";
import { UsageError, type WithErrors } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { type CallerIdentity, readCallerIdentity } from "./caller.js";
import { type ParsedViewPath, parseViewPath, VIEW_PATHS } from "./view-paths.js";
import { isCpuDeviceFile, renderCpuDeviceFile } from "./views/cpu-device.js";
import { renderCpuOnline } from "./views/cpu-online.js";
import { renderCpuinfo } from "./views/cpuinfo.js";
import { renderDiskstats } from "./views/diskstats.js";
import { renderLoadavg } from "./views/loadavg.js";
import { CACHE_AS_USED_NONE, type CacheAsUsed, renderMeminfo } from "./views/meminfo.js";
import { renderPressure } from "./views/pressure.js";
import { advanceStatCounters, renderStat, type StatCounters, statReading, USER_HZ } from "./views/stat.js";
import { renderSwaps } from "./views/swaps.js";
import { renderUptime } from "./views/uptime.js";
import { visibleCpus } from "./visible-cpus.js";

export type { CallerIdentity } from "./caller.js";
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

/** The host's own file of a served path: proc/... below hostProcRoot, sys/... below sysRoot. */
function hostFileOf(path: string, hostProcRoot: string, sysRoot: string): string {
  return path.startsWith("sys/") ? join(sysRoot, path.slice(4)) : join(hostProcRoot, path.slice(5));
}

interface Timed<T> {
  readonly at: number;
  readonly value: T;
}

/** Everything remembered about one container cgroup. */
interface ContainerState {
  readonly handle: CgroupHandle;
  /** When a read first came from it: it settles until SETTLE_MS later. */
  readonly firstSeen: number;
  lastUsed: number;
  readonly parts: Map<string, Timed<unknown>>;
  /** By served path (a CPU directory's file is one text per CPU). */
  readonly texts: Map<string, Timed<string>>;
  /** Last /proc/stat cpu counters served: the monotonic state. */
  statCounters: StatCounters | undefined;
  /** The process whose start time is the container's start (its pidns init, or its oldest process). */
  start: { pid: number; startTicks: number } | undefined;
}

/** What a reader is served from. */
interface Resolved {
  readonly cgroupPath: string;
  readonly handle: CgroupHandle;
  /** The pid namespace's init when the reader is not in the host's namespace. */
  readonly init: NamespaceInit | undefined;
}

interface NamespaceInit {
  readonly pid: number;
  readonly startTicks: number;
}

/** Bound on the remembered namespace inits (bounded memory under container churn). */
const MAX_NAMESPACES = 65536;
/** Bound on the remembered cgroup memberships (each up to a few KB; cheap to resolve again). */
const MAX_HANDLES = 4096;
/** A loadavg sample younger than this stands in for a live thread count in stat's procs_running. */
const SAMPLE_FRESH_MS = 10_000;
const IDLE_FORGET_MS = 10 * 60_000;
/**
 * A container's first reads can come before its runtime has written its limits: runc stats the
 * bind-mounted view files from inside the new cgroup while setting up its mounts, and writes the
 * cgroup's limits after that. Until a container has been seen this long, nothing rendered for it is
 * kept (here or in the mount's cache), so its entrypoint's first read of /proc/meminfo (a JVM
 * sizing its heap) is rendered from the limits as they are by then, not from a reading taken before
 * they were written.
 */
export const SETTLE_MS = 2000;
/** Minimum reuse time of the host's CPU list (cpuinfo): it changes only with CPU hotplug. */
const STATIC_HOST_WINDOW_MS = 1000;

export function createViewRenderer(opts: ViewRendererOptions = {}): ViewRenderer {
  const procRoot = opts.procRoot ?? "/proc";
  const sysRoot = opts.sysRoot ?? "/sys";
  const hostProcRoot = opts.hostProcRoot ?? procRoot;
  const mounts = opts.mounts ?? readCgroupMounts(procRoot);
  const cfsQuota = opts.cfsQuota ?? true;
  const cacheAsUsed = opts.cacheAsUsed ?? CACHE_AS_USED_NONE;
  const windowMs = Math.max(0, opts.shareWindowMs ?? DEFAULT_SHARE_WINDOW_MS);
  const now = opts.now ?? (() => performance.now());
  const log = opts.logger;
  const containers = new Map<string, ContainerState>();
  /** Container pid namespace (`pid:[inode]`) → its init. */
  const namespaces = new Map<string, NamespaceInit>();
  /** /proc/<pid>/cgroup text → its cgroups on disk (a pure function of the text and the mounts). */
  const handles = new Map<string, CgroupHandle>();
  let hostNamespace: string | undefined;
  const hostCache = new Map<string, Timed<unknown>>();

  /** `compute()`'s value for `key`, reused while younger than `window`. */
  function remembered<K, T>(
    cache: Map<K, Timed<unknown>>,
    key: K,
    at: number,
    compute: () => T,
    window = windowMs,
  ): T {
    const cached = cache.get(key) as Timed<T> | undefined;
    if (cached !== undefined && at - cached.at < window) return cached.value;
    const value = compute();
    if (window > 0) cache.set(key, { at, value });
    return value;
  }
  const hostPart = <T>(key: string, at: number, compute: () => T, window = windowMs): T =>
    remembered(hostCache, key, at, compute, window);
  /** The host's file of a served path (a view path, or a CPU directory's file). */
  const hostText = (path: string, at: number): string =>
    hostPart(`text:${path}`, at, () => readQuiet(hostFileOf(path, hostProcRoot, sysRoot)) ?? "");
  const hostMeminfo = (at: number): HostMeminfo =>
    hostPart("meminfo", at, () => parseMeminfo(hostText("proc/meminfo", at)));
  const hostStat = (at: number): HostStat => hostPart("stat", at, () => parseStat(hostText("proc/stat", at)));
  // The host's CPU list changes only with CPU hotplug: parsed cpuinfo (the kernel takes ~30 µs to
  // generate it) and the online list are kept for at least STATIC_HOST_WINDOW_MS.
  const staticWindow = Math.max(windowMs, STATIC_HOST_WINDOW_MS);
  const hostCpuinfo = (at: number): HostCpuinfo =>
    hostPart("cpuinfo", at, () => parseCpuinfo(readQuiet(join(hostProcRoot, "cpuinfo")) ?? ""), staticWindow);
  const hostDiskstats = (at: number): HostDiskstat[] =>
    hostPart("diskstats", at, () => parseDiskstats(hostText("proc/diskstats", at)));
  const hostUptime = (at: number): [number, number] =>
    hostPart("uptime", at, () => parseUptime(hostText("proc/uptime", at)) ?? [0, 0]);
  const hostOnline = (at: number): number[] =>
    hostPart(
      "online",
      at,
      () => {
        const ids = [...hostCpuinfo(at).processors.keys()].sort((a, b) => a - b);
        return ids.length > 0 ? ids : [0];
      },
      staticWindow,
    );
  const hostSwapTotalKb = (at: number): number =>
    hostMeminfo(at).entries.find((e) => e.key === "SwapTotal")?.value ?? 0;

  const settling = (c: ContainerState, at: number): boolean => at - c.firstSeen < SETTLE_MS;
  const part = <T>(c: ContainerState, key: string, at: number, read: () => T): T =>
    remembered(c.parts, key, at, read, settling(c, at) ? 0 : windowMs);
  const withErrors = <T>(path: string, r: WithErrors<T>): T => {
    if (r.errors.length > 0)
      log?.debug({ cgroup: path, errors: r.errors }, "cgroup read incomplete; host values fill in");
    return r.data;
  };
  const memoryOf = (c: ContainerState, at: number): MemoryData | undefined =>
    part(c, "memory", at, () => withErrors(c.handle.path, readMemory(c.handle)));
  const cpuOf = (c: ContainerState, at: number): CpuData | undefined =>
    part(c, "cpu", at, () => withErrors(c.handle.path, readCpu(c.handle, { sysRoot })));
  const ioOf = (c: ContainerState, at: number): IoData | undefined =>
    part(c, "io", at, () => withErrors(c.handle.path, readIo(c.handle)));
  const pressureOf = (c: ContainerState, at: number): PressureData =>
    part(c, "pressure", at, () => withErrors(c.handle.path, readPressure(c.handle)));
  const tasksOf = (c: ContainerState, at: number): TaskCounts | undefined =>
    part(c, "tasks", at, () => {
      if (!handleExists(c.handle)) return undefined;
      return countTasks(readCgroupPidsRecursive(c.handle), procRoot);
    });

  /**
   * The container's start in ticks since boot: its pidns init's start when the reader is in a
   * container's pid namespace, else its oldest process (a cgroup whose processes share the host's
   * pid namespace). Re-validated by start time, so a reused pid never stands for the container.
   */
  function startTicksOf(c: ContainerState, init: NamespaceInit | undefined): number | undefined {
    if (init !== undefined) {
      c.start = init;
      return init.startTicks;
    }
    if (c.start !== undefined && readProcStartTicks(c.start.pid, procRoot) === c.start.startTicks) {
      return c.start.startTicks;
    }
    c.start = undefined;
    const members = readCgroupPids(c.handle);
    const first = members[0];
    if (first === undefined) return undefined;
    const nsInit = findNamespaceInit(first, procRoot);
    if (nsInit !== undefined) {
      c.start = { pid: nsInit.initPid, startTicks: nsInit.startTicks };
      return nsInit.startTicks;
    }
    for (const pid of members) {
      const ticks = readProcStartTicks(pid, procRoot);
      if (ticks !== undefined && (c.start === undefined || ticks < c.start.startTicks))
        c.start = { pid, startTicks: ticks };
    }
    return c.start?.startTicks;
  }

  let lastSweep = now();
  function containerFor(handle: CgroupHandle, at: number): ContainerState {
    // Bounded memory under container churn: state of containers nobody read for 10 min goes.
    if (at - lastSweep > 60_000) {
      lastSweep = at;
      for (const [path, old] of containers) if (at - old.lastUsed > IDLE_FORGET_MS) containers.delete(path);
    }
    let c = containers.get(handle.path);
    if (c === undefined) {
      c = {
        handle,
        firstSeen: at,
        lastUsed: at,
        parts: new Map(),
        texts: new Map(),
        statCounters: undefined,
        start: undefined,
      };
      containers.set(handle.path, c);
    }
    c.lastUsed = at;
    return c;
  }

  /** The container's view; a missing input falls back to the host's field, never an error. */
  function renderContainer(
    parsed: ParsedViewPath,
    c: ContainerState,
    init: NamespaceInit | undefined,
    at: number,
  ): string {
    const compute = (): string => {
      try {
        return computeView(parsed, c, init, at);
      } catch (e) {
        // A bug or an unexpected kernel format must never fail a read of /proc/meminfo in a container:
        // the host's file, except in the CPU directory, where it would show the host's CPUs.
        const cpuDir = parsed.view.startsWith("sys/");
        log?.error(
          { view: parsed.path, cgroup: c.handle.path, err: e },
          cpuDir ? "rendering failed; serving an empty file" : "rendering failed; serving the host's file",
        );
        return cpuDir ? "" : hostText(parsed.path, at);
      }
    };
    return remembered(c.texts, parsed.path, at, compute, settling(c, at) ? 0 : windowMs);
  }

  function visibleOf(c: ContainerState, at: number): { cpu: CpuData | undefined; visible: number[] } {
    const cpu = cpuOf(c, at);
    return { cpu, visible: visibleCpus(cpu, hostOnline(at), { cfsQuota }) };
  }

  function computeView(
    parsed: ParsedViewPath,
    c: ContainerState,
    init: NamespaceInit | undefined,
    at: number,
  ): string {
    const view = parsed.view;
    if (parsed.cpu !== undefined) {
      const file = parsed.cpu.file;
      if (!isCpuDeviceFile(file)) throw new Error(`no renderer for ${parsed.path}`);
      return renderCpuDeviceFile(file, parsed.cpu.number, visibleOf(c, at).visible.length);
    }
    switch (view) {
      case "proc/meminfo":
        return renderMeminfo({ host: hostMeminfo(at), memory: memoryOf(c, at), cacheAsUsed });
      case "proc/swaps":
        return renderSwaps(memoryOf(c, at), hostSwapTotalKb(at), hostText(view, at));
      case "proc/cpuinfo": {
        const text = renderCpuinfo(hostCpuinfo(at), visibleOf(c, at).visible);
        return text === "" ? hostText(view, at) : text;
      }
      case "sys/devices/system/cpu/online":
      case "sys/devices/system/cpu/possible":
      case "sys/devices/system/cpu/present":
        return renderCpuOnline(visibleOf(c, at).visible.length);
      // NR_CPUS - 1, a constant of the kernel's build (lscpu sizes its CPU masks by it): the host's
      // says nothing about its CPUs.
      case "sys/devices/system/cpu/kernel_max":
        return hostText(view, at);
      case "proc/uptime": {
        const [up, idle] = hostUptime(at);
        const { cpu, visible } = visibleOf(c, at);
        return renderUptime({
          hostUptimeSec: up,
          hostIdleSec: idle,
          startTicks: startTicksOf(c, init),
          clkTck: USER_HZ,
          visibleCpus: visible.length,
          cpuUsageNs: cpu?.usageNs,
        });
      }
      case "proc/stat": {
        const { cpu, visible } = visibleOf(c, at);
        let counters: StatCounters | undefined;
        if (cpu !== undefined) {
          const [up] = hostUptime(at);
          const start = startTicksOf(c, init);
          const elapsedSec = start === undefined ? up : Math.max(0, up - start / USER_HZ);
          counters = advanceStatCounters(c.statCounters, statReading(cpu, visible, elapsedSec * USER_HZ));
          c.statCounters = counters;
        }
        // procs_running/blocked: the sampler's count when recent (counting a big container's
        // threads costs one read per thread, too much for every read of /proc/stat), else live.
        opts.sampler?.track(c.handle.path);
        const sample = opts.sampler?.get(c.handle.path);
        const recent = sample !== undefined && Date.now() - sample.sampledAtMs <= SAMPLE_FRESH_MS;
        return renderStat({ host: hostStat(at), counters, tasks: recent ? sample : tasksOf(c, at) });
      }
      case "proc/loadavg": {
        opts.sampler?.track(c.handle.path);
        const sample = opts.sampler?.get(c.handle.path);
        const tasks = sample ?? tasksOf(c, at);
        return renderLoadavg({
          loads: sample?.loads,
          running: tasks?.running,
          total: tasks?.total,
          hostText: hostText(view, at),
        });
      }
      case "proc/diskstats":
        return renderDiskstats(hostDiskstats(at), ioOf(c, at));
      case "proc/pressure/cpu":
        return renderPressure("cpu", pressureOf(c, at), hostText(view, at));
      case "proc/pressure/io":
        return renderPressure("io", pressureOf(c, at), hostText(view, at));
      case "proc/pressure/memory":
        return renderPressure("memory", pressureOf(c, at), hostText(view, at));
    }
    throw new Error(`no renderer for ${parsed.path}`);
  }

  function handleOf(procCgroup: string): CgroupHandle {
    let handle = handles.get(procCgroup);
    if (handle === undefined) {
      handle = resolveHandle(mounts, parseProcCgroup(procCgroup));
      if (handles.size >= MAX_HANDLES) handles.clear();
      handles.set(procCgroup, handle);
    }
    return handle;
  }

  function isHostNamespace(ns: string): boolean {
    hostNamespace ??= readPidNamespace(1, procRoot);
    return ns === hostNamespace;
  }

  /** The init still runs, in that namespace: its pid and start time were not handed on. */
  const initRunsIn = (init: NamespaceInit, ns: string): boolean =>
    readProcStartTicks(init.pid, procRoot) === init.startTicks && readPidNamespace(init.pid, procRoot) === ns;

  /**
   * A namespace's init with its cgroups as they are now: read first, then checked that it is still
   * the init in `ns`, so the cgroups are the init's whatever happened to its pid.
   */
  function initServed(init: NamespaceInit, ns: string): Resolved | undefined {
    const initCgroups = readQuiet(join(procRoot, String(init.pid), "cgroup"));
    if (initCgroups === undefined || !initRunsIn(init, ns)) return undefined;
    const handle = handleOf(initCgroups);
    return { cgroupPath: handle.path, handle, init };
  }

  /** What a reader in the container namespace `ns` is served: its init's cgroup; undefined if not found. */
  function namespaceOf(caller: CallerIdentity, ns: string): Resolved | undefined {
    const known = namespaces.get(ns);
    const served = known === undefined ? undefined : initServed(known, ns);
    if (served !== undefined) return served;
    // Looked for from the caller's pid, but only inside the caller's namespace: should the pid be
    // another process's by now, in another namespace, nothing is found.
    const found = findNamespaceInit(caller.pid, procRoot, ns);
    if (found === undefined) return undefined;
    const init = { pid: found.initPid, startTicks: found.startTicks };
    if (namespaces.size >= MAX_NAMESPACES) namespaces.clear();
    namespaces.set(ns, init);
    return initServed(init, ns);
  }

  /**
   * What `caller` is served from: its container namespace's init's cgroup, else (host namespace, a
   * process that joined with setns, a caller already gone) its own cgroup as its identity says.
   */
  function resolveCaller(caller: CallerIdentity): Resolved {
    const ns = caller.pidNamespace;
    const container = ns === undefined || isHostNamespace(ns) ? undefined : namespaceOf(caller, ns);
    if (container !== undefined) return container;
    const handle = handleOf(caller.procCgroup);
    return { cgroupPath: handle.path, handle, init: undefined };
  }

  function renderResolved(parsed: ParsedViewPath, r: Resolved): ServedView {
    const at = now();
    // A host process (root cgroup) sees the host's own file.
    if (r.cgroupPath === "/") return { text: hostText(parsed.path, at), shareable: true };
    const c = containerFor(r.handle, at);
    return { text: renderContainer(parsed, c, r.init, at), shareable: !settling(c, at) };
  }

  return {
    renderForCaller(view, caller) {
      return renderResolved(viewPathOf(view), resolveCaller(caller));
    },
    renderForPid(view, pid) {
      const parsed = viewPathOf(view);
      if (!Number.isInteger(pid) || pid <= 0)
        throw new UsageError("BXS_PID_INVALID", `invalid pid ${pid}`, { context: { pid } });
      const caller = readCallerIdentity(pid, procRoot);
      if (caller === undefined)
        throw new UsageError("BXS_PROCESS_NOT_FOUND", `no such process: pid ${pid}`, { context: { pid } });
      return renderResolved(parsed, resolveCaller(caller)).text;
    },
    renderForCgroup(view, cgroupPath) {
      const parsed = viewPathOf(view);
      const path = normalizeCgroupPath(cgroupPath);
      const at = now();
      if (path === "/") return hostText(parsed.path, at);
      const known = containers.get(path);
      const handle = known?.handle ?? handleForPath(mounts, path);
      if (!handleExists(handle)) {
        containers.delete(path);
        throw new UsageError("BXS_CGROUP_NOT_FOUND", `no such cgroup: ${path}`, {
          context: { cgroup: path },
        });
      }
      return renderContainer(parsed, containerFor(handle, at), undefined, at);
    },
    renderForHost(view) {
      return hostText(viewPathOf(view).path, now());
    },
    cgroupForPid(pid) {
      const caller = readCallerIdentity(pid, procRoot);
      return caller === undefined ? undefined : resolveCaller(caller).cgroupPath;
    },
    forgetIdle(idleMs = IDLE_FORGET_MS) {
      const at = now();
      for (const [path, c] of containers) if (at - c.lastUsed > idleMs) containers.delete(path);
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

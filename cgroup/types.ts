/**
 * The data model shared by cgroup/ (readers + parsers), shim/views (renderers) and exporter/
 * (collectors). Readers produce these; renderers and collectors consume them. All byte values are
 * bytes, all times are the unit in the field name. `null` means "no limit"; `undefined` means the
 * kernel did not give the value (file missing or unreadable), and consumers then fall back to the
 * host's value for that field (docs/views.md, Semantics: a view never fails because one input is missing).
 *
 * Extend additively; changing a field's meaning breaks three parts at once.
 */
import type { BoxscopeError } from "../common/errors.js";

/** Where each cgroup hierarchy is mounted, from /proc/self/mountinfo. */
export interface CgroupMounts {
  /** v1 controller (or `name=systemd`) → mount point. Co-mounted controllers map to the same dir. */
  readonly v1: ReadonlyMap<string, string>;
  /** cgroup2 mount point (`/sys/fs/cgroup` on pure v2, `/sys/fs/cgroup/unified` on hybrid), if any. */
  readonly unified: string | undefined;
  /** Controllers enabled on the unified hierarchy (empty on hybrid hosts: all are bound to v1). */
  readonly unifiedControllers: ReadonlySet<string>;
}

/** One process's memberships, from /proc/<pid>/cgroup (`/init.scope` already stripped). */
export interface ProcCgroups {
  /** v1 controller (or `name=...`) → path inside that hierarchy, e.g. `memory` → `/docker/<id>`. */
  readonly v1: ReadonlyMap<string, string>;
  /** The `0::/path` line's path, if present. */
  readonly unified: string | undefined;
}

/** The resource controllers boxscope reads. */
export type Controller = "memory" | "cpu" | "cpuacct" | "cpuset" | "pids" | "blkio" | "io";

/**
 * A cgroup resolved to directories on disk: for each controller, which hierarchy version serves it
 * and the directory of this cgroup in it. A controller absent from `dirs` is not mounted/available.
 */
export interface CgroupHandle {
  /** Canonical path inside the hierarchy (the memory controller's, else the unified one), e.g. `/docker/<id>`. */
  readonly path: string;
  readonly dirs: Readonly<Partial<Record<Controller, { version: 1 | 2; dir: string; root: string }>>>;
  /** The unified-hierarchy directory, when one exists (pressure files live there, even on hybrid hosts). */
  readonly unifiedDir: string | undefined;
}

/** Container identity derived from a cgroup path (docker cgroupfs/systemd, containerd, cri-o, k8s). */
export interface ContainerIdentity {
  /** Full 64-hex container id. */
  readonly id: string;
  readonly runtime: "docker" | "containerd" | "cri-o" | "podman" | "unknown";
  /** Kubernetes pod UID (dashes restored) when the path is under a kubepods slice/dir. */
  readonly podUid?: string;
  /** Kubernetes QoS class from the path: guaranteed | burstable | besteffort. */
  readonly qosClass?: "guaranteed" | "burstable" | "besteffort";
}

/** memory.stat normalised across v1 (`total_*`, hierarchical) and v2 names. Bytes. */
export interface MemoryStat {
  readonly cache?: number; // v1 total_cache, v2 file
  readonly activeAnon?: number;
  readonly inactiveAnon?: number;
  readonly activeFile?: number;
  readonly inactiveFile?: number;
  readonly unevictable?: number;
  readonly shmem?: number;
  readonly mapped?: number; // v1 total_mapped_file, v2 file_mapped
  readonly dirty?: number; // v1 total_dirty, v2 file_dirty
  readonly writeback?: number; // v1 total_writeback, v2 file_writeback
  readonly rss?: number; // v1 total_rss, v2 anon
  readonly slab?: number; // v2 slab, v1 memory.kmem.slabinfo is not parsed: undefined
  readonly slabReclaimable?: number;
  readonly slabUnreclaimable?: number;
  /** Swap used: v1 total_swap (with swap accounting); v2 memory.stat has none (memory.swap.current). */
  readonly swap?: number;
  /** Page faults (counters): v1 total_pgfault / total_pgmajfault, v2 pgfault / pgmajfault. */
  readonly pgfault?: number;
  readonly pgmajfault?: number;
  /** Refaults of evicted pages (counters): v1 total_workingset_refault_*, v2 workingset_refault_* (≥ 5.9). */
  readonly workingsetRefaultAnon?: number;
  readonly workingsetRefaultFile?: number;
  /** Pages scanned / reclaimed by reclaim (counters): v2 only, pgscan / pgsteal. */
  readonly pgscan?: number;
  readonly pgsteal?: number;
  /** Every key as the kernel wrote it, for anything not normalised above. */
  readonly raw: ReadonlyMap<string, number>;
}

export interface MemoryData {
  readonly version: 1 | 2;
  /** Effective limit: minimum over the cgroup and its ancestors; null = unlimited. */
  readonly limitBytes: number | null;
  readonly usageBytes: number;
  /**
   * Effective swap allowance for this cgroup: v1 min over ancestors of (memsw.limit − mem.limit),
   * v2 min over ancestors of memory.swap.max; null = unlimited (capped by host swap in views);
   * 0 = no swap; undefined = swap accounting not available, or not read (ReadMemoryOptions.swap).
   */
  readonly swapLimitBytes: number | null | undefined;
  /** v1 memsw.usage − usage (clamped ≥ 0), v2 memory.swap.current; undefined = not available or not read. */
  readonly swapUsageBytes: number | undefined;
  readonly stat: MemoryStat;
  /** OOM kills of this cgroup: v2 memory.events `oom_kill`, v1 memory.oom_control `oom_kill`. */
  readonly oomKills: number | undefined;
  /** v2 memory.events `oom` / v1 failcnt-like hits of the limit, where present. */
  readonly oomEvents: number | undefined;
  /**
   * Times usage hit the memory limit: v1 memory.failcnt, v2 memory.events `max`; undefined = not read.
   * (v1's oomEvents is the same failcnt, kept for the views that read it.)
   */
  readonly limitHits?: number;
  /** v2 memory.events `high`: times usage went over memory.high and was throttled; v1 has none. */
  readonly highEvents?: number;
  /**
   * Kernel memory charged to the cgroup (slab, stacks, page tables...): v2 memory.stat `kernel` (or
   * the sum of its parts on older kernels), v1 memory.kmem.usage_in_bytes; undefined = not available.
   */
  readonly kernelBytes?: number | undefined;
  /**
   * Highest usage recorded for the cgroup: v1 memory.max_usage_in_bytes, v2 memory.peak (kernels
   * ≥ 5.19); undefined = the file is absent, or not asked for (ReadMemoryOptions.maxUsage).
   */
  readonly maxUsageBytes?: number | undefined;
}

export interface CpuData {
  readonly version: 1 | 2;
  /** Host CPU numbers this cgroup may run on (effective cpuset, nearest ancestor that sets one), sorted. */
  readonly cpuset: readonly number[];
  /** Effective CFS quota in CPUs (quota/period, min over ancestors); null = unlimited. */
  readonly quotaCpus: number | null;
  /** Total CPU time consumed (v1 cpuacct.usage, v2 cpu.stat usage_usec), ns. */
  readonly usageNs: number;
  /** User and system split in ns (v1 cpuacct.stat ticks → ns, v2 cpu.stat user_usec/system_usec). */
  readonly userNs: number | undefined;
  readonly systemNs: number | undefined;
  /** v1 only: per host CPU (index = host CPU number) from cpuacct.usage_all, else usage_percpu (user only). */
  readonly perCpu: ReadonlyArray<{ readonly userNs: number; readonly systemNs: number }> | undefined;
  /** Throttling counters (v1 cpu.stat / v2 cpu.stat): nr_periods, nr_throttled, throttled ns. */
  readonly throttle?: { readonly periods: number; readonly throttled: number; readonly throttledNs: number };
}

export interface PidsData {
  readonly current: number;
  /** Effective pids.max (min over ancestors); null = unlimited. */
  readonly max: number | null;
  /** pids.events `max`: forks refused by the limit. */
  readonly limitHits: number | undefined;
}

/** Per block device I/O of a cgroup, keyed by "major:minor". */
export interface IoDeviceStat {
  readonly readIos: number;
  readonly writeIos: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly discardIos?: number;
  readonly discardBytes?: number;
  /** v1 only: blkio.io_merged_recursive. */
  readonly readMerged?: number;
  readonly writeMerged?: number;
  /** v1 only: service + wait time, ms. */
  readonly readTimeMs?: number;
  readonly writeTimeMs?: number;
}
export type IoData = ReadonlyMap<string, IoDeviceStat>;

/** Raw PSI file contents (already in the kernel's format) per resource. */
export interface PressureData {
  readonly cpu?: string;
  readonly memory?: string;
  readonly io?: string;
}

/** Threads of the cgroup by scheduler state, for loadavg/stat `procs_running`/`procs_blocked`. */
export interface TaskCounts {
  readonly running: number; // state R
  readonly blocked: number; // state D
  readonly total: number; // all threads
}

/** Everything the views and collectors need about one cgroup, read in one go. */
export interface CgroupSnapshot {
  readonly handle: CgroupHandle;
  readonly memory: MemoryData | undefined;
  readonly cpu: CpuData | undefined;
  readonly pids: PidsData | undefined;
  readonly io: IoData | undefined;
  readonly pressure: PressureData;
  /** What could not be read, by any controller (e.g. BXS_CGROUP_FILE_UNREADABLE for memory.stat); never thrown. */
  readonly errors: readonly BoxscopeError[];
}

/** The host's own /proc data that views pass through or fall back to. */
export interface HostMeminfo {
  /** Lines in kernel order: key → value in kB (or a bare count, e.g. HugePages_Total), with unit flag. */
  readonly entries: ReadonlyArray<{ readonly key: string; readonly value: number; readonly kb: boolean }>;
}

/** /proc/stat parsed: cpu lines (USER_HZ ticks) in kernel column order, plus every other line verbatim. */
export interface HostStat {
  /** `cpu` aggregate: user nice system idle iowait irq softirq steal guest guest_nice. */
  readonly total: readonly number[];
  /** Per host CPU number. */
  readonly perCpu: ReadonlyMap<number, readonly number[]>;
  /** Remaining lines (`intr`, `ctxt`, `btime`, `processes`, `procs_running`, ...) as key → rest of line. */
  readonly other: ReadonlyArray<{ readonly key: string; readonly rest: string }>;
}

/** /proc/diskstats line: the kernel's fields after major, minor, name (17 or more numbers). */
export interface HostDiskstat {
  readonly major: number;
  readonly minor: number;
  readonly name: string;
  readonly fields: readonly number[];
}

/** /proc/cpuinfo split per processor block, text kept verbatim so renderers can renumber. */
export interface HostCpuinfo {
  /** Host CPU number (`processor : N`) → its block's lines (without the trailing blank line). */
  readonly processors: ReadonlyMap<number, readonly string[]>;
}

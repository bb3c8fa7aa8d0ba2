/**
 * Memory controller: v1 memory.{limit_in_bytes,usage_in_bytes,max_usage_in_bytes,memsw.*,stat,
 * oom_control,failcnt} (Documentation/admin-guide/cgroup-v1/memory.rst), v2 memory.{max,current,peak,
 * swap.max,swap.current,stat,events} (Documentation/admin-guide/cgroup-v2.rst).
 */
import type { WithErrors } from "../common/errors.js";
import {
  type CgroupReadOptions,
  controllerMissing,
  DIRECT_FILES,
  type FileReads,
  flatValue,
  parseCount,
  parseFlatKeyed,
  parseLimit,
  readOptionalIn,
  readRequiredIn,
  readSharedIn,
} from "./fsread.js";
import { ancestorDirs } from "./handle.js";
import type { CgroupHandle, MemoryData, MemoryStat } from "./types.js";

/**
 * Normalised key → [v1 hierarchical key, v2 key] (undefined: that version has no such line). v1
 * uses `total_*` (this cgroup and descendants).
 */
const STAT_KEYS: ReadonlyArray<[Exclude<keyof MemoryStat, "raw">, string | undefined, string | undefined]> = [
  ["cache", "total_cache", "file"],
  ["activeAnon", "total_active_anon", "active_anon"],
  ["inactiveAnon", "total_inactive_anon", "inactive_anon"],
  ["activeFile", "total_active_file", "active_file"],
  ["inactiveFile", "total_inactive_file", "inactive_file"],
  ["unevictable", "total_unevictable", "unevictable"],
  ["shmem", "total_shmem", "shmem"],
  ["mapped", "total_mapped_file", "file_mapped"],
  ["dirty", "total_dirty", "file_dirty"],
  ["writeback", "total_writeback", "file_writeback"],
  ["rss", "total_rss", "anon"],
  ["slab", undefined, "slab"],
  ["slabReclaimable", undefined, "slab_reclaimable"],
  ["slabUnreclaimable", undefined, "slab_unreclaimable"],
  ["swap", "total_swap", undefined],
  ["pgfault", "total_pgfault", "pgfault"],
  ["pgmajfault", "total_pgmajfault", "pgmajfault"],
  ["workingsetRefaultAnon", "total_workingset_refault_anon", "workingset_refault_anon"],
  ["workingsetRefaultFile", "total_workingset_refault_file", "workingset_refault_file"],
  ["pgscan", undefined, "pgscan"],
  ["pgsteal", undefined, "pgsteal"],
];

/**
 * memory.stat → the normalised fields, each found by a scan of the text; `raw` (every key) is
 * parsed on first use only: the exporter reads memory.stat of hundreds of containers per scrape
 * and building a Map of every key for each was much of its memory reading time.
 */
export function parseMemoryStat(text: string, version: 1 | 2): MemoryStat {
  const out: { -readonly [K in Exclude<keyof MemoryStat, "raw">]?: MemoryStat[K] } = {};
  for (const [name, v1Key, v2Key] of STAT_KEYS) {
    let value: number | undefined;
    if (version === 2) value = v2Key === undefined ? undefined : flatValue(text, v2Key);
    else if (v1Key !== undefined) {
      // Without `total_*` (only possible on very old kernels) the local value is the best we have.
      value = flatValue(text, v1Key) ?? flatValue(text, v1Key.slice("total_".length));
    }
    if (value !== undefined) out[name] = value;
  }
  let raw: Map<string, number> | undefined;
  Object.defineProperty(out, "raw", { enumerable: true, get: () => (raw ??= parseFlatKeyed(text)) });
  return out as MemoryStat;
}

/**
 * Minimum of the limits in `file` over `dirs` (the cgroup's own first, then its ancestors, whose
 * files go through the source's readShared); null = unlimited everywhere; missing files are skipped.
 */
export function minLimitOver(reads: FileReads, dirs: readonly string[], file: string): number | null {
  let min: number | null = null;
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i] as string;
    const v = parseLimit(i > 0 ? readSharedIn(reads, dir, file) : readOptionalIn(reads, dir, file));
    if (typeof v === "number" && (min === null || v < min)) min = v;
  }
  return min;
}

export interface ReadMemoryOptions extends CgroupReadOptions {
  /**
   * true (default): read the swap usage and allowance (2–4 more files). "usage": the usage alone
   * where it costs one file (v2 memory.swap.current, no walk of the ancestors' swap.max; v1 reads
   * nothing more: its memory.stat total_swap is the usage), allowance undefined. false: both undefined.
   */
  readonly swap?: boolean | "usage";
  /** Read the highest usage recorded (one more file, maxUsageBytes). Default false: the views have no use for it. */
  readonly maxUsage?: boolean;
}

export function readMemory(
  handle: CgroupHandle,
  options: ReadMemoryOptions = {},
): WithErrors<MemoryData | undefined> {
  const ctl = handle.dirs.memory;
  if (ctl === undefined) return { data: undefined, errors: [controllerMissing("memory")] };
  const reads: FileReads = { files: options.files ?? DIRECT_FILES, errors: [] };
  const cgroup: MemoryCgroup = {
    dir: ctl.dir,
    ancestors: ancestorDirs(ctl.dir, ctl.root),
    isRoot: ctl.dir === ctl.root,
    swap: options.swap ?? true,
    maxUsage: options.maxUsage ?? false,
  };
  const data = ctl.version === 1 ? readV1(reads, cgroup) : readV2(reads, cgroup);
  return { data, errors: reads.errors };
}

/** The memory cgroup being read, and what to read of it. */
interface MemoryCgroup {
  readonly dir: string;
  /** The cgroup's own directory first, then its ancestors' up to the hierarchy's root. */
  readonly ancestors: readonly string[];
  readonly isRoot: boolean;
  readonly swap: boolean | "usage";
  readonly maxUsage: boolean;
}

function readV1(reads: FileReads, cgroup: MemoryCgroup): MemoryData | undefined {
  const { dir, ancestors, maxUsage } = cgroup;
  const usage = parseCount(readRequiredIn(reads, dir, "memory.usage_in_bytes"));
  if (usage === undefined) return undefined;
  const statText = readRequiredIn(reads, dir, "memory.stat");
  const stat = parseMemoryStat(statText ?? "", 1);
  // memory.stat's hierarchical_memory_limit / hierarchical_memsw_limit are the kernel's own minimum
  // over the ancestors (mem_cgroup walks parent_mem_cgroup): use them and skip ~2 opens per level;
  // walk the ancestors' files only when memory.stat lacks them (old kernels, unreadable stat).
  const hierMemValue = flatValue(statText ?? "", "hierarchical_memory_limit");
  const hierMem = hierMemValue !== undefined ? parseLimit(String(hierMemValue)) : undefined;
  const limit = hierMem !== undefined ? hierMem : minLimitOver(reads, ancestors, "memory.limit_in_bytes");

  let swapLimitBytes: number | null | undefined;
  let swapUsageBytes: number | undefined;
  // v1 reads nothing more for swap: "usage" (memory.stat's total_swap) is there already.
  const memswUsage =
    cgroup.swap === true ? parseCount(readOptionalIn(reads, dir, "memory.memsw.usage_in_bytes")) : undefined;
  if (memswUsage !== undefined) {
    const hierSwValue = flatValue(statText ?? "", "hierarchical_memsw_limit");
    const hierSw = hierSwValue !== undefined ? parseLimit(String(hierSwValue)) : undefined;
    const memsw =
      hierSw !== undefined ? hierSw : minLimitOver(reads, ancestors, "memory.memsw.limit_in_bytes");
    // Swap allowance = effective mem+swap limit − effective memory limit (both minimums over the
    // ancestors: a parent's memsw caps the child's mem+swap even when the child sets none).
    swapLimitBytes = memsw === null ? null : limit === null ? memsw : Math.max(0, memsw - limit);
    swapUsageBytes = Math.max(0, memswUsage - usage);
  }
  const oomControl = parseFlatKeyed(readOptionalIn(reads, dir, "memory.oom_control") ?? "");
  const failcnt = parseCount(readOptionalIn(reads, dir, "memory.failcnt"));
  // v1 keeps kernel memory (slab, stacks, page tables, sockets) out of memory.stat: its own counter.
  const kernelBytes = parseCount(readOptionalIn(reads, dir, "memory.kmem.usage_in_bytes"));
  const maxUsageBytes = maxUsage
    ? parseCount(readOptionalIn(reads, dir, "memory.max_usage_in_bytes"))
    : undefined;
  return {
    version: 1,
    limitBytes: limit,
    usageBytes: usage,
    swapLimitBytes,
    swapUsageBytes,
    stat,
    oomKills: oomControl.get("oom_kill"),
    oomEvents: failcnt,
    limitHits: failcnt,
    kernelBytes,
    maxUsageBytes,
  };
}

function readV2(reads: FileReads, cgroup: MemoryCgroup): MemoryData | undefined {
  const { dir, ancestors, swap, maxUsage } = cgroup;
  // The v2 root cgroup has no memory.current: a process there gets the host's values, silently.
  const usage = parseCount((cgroup.isRoot ? readOptionalIn : readRequiredIn)(reads, dir, "memory.current"));
  if (usage === undefined) return undefined;
  const statText = readRequiredIn(reads, dir, "memory.stat") ?? "";
  const stat = parseMemoryStat(statText, 2);
  const limit = minLimitOver(reads, ancestors, "memory.max");
  let swapLimitBytes: number | null | undefined;
  let swapUsageBytes: number | undefined;
  const swapCurrent = swap ? parseCount(readOptionalIn(reads, dir, "memory.swap.current")) : undefined;
  if (swapCurrent !== undefined) {
    swapUsageBytes = swapCurrent;
    if (swap === true) swapLimitBytes = minLimitOver(reads, ancestors, "memory.swap.max");
  }
  const events = parseFlatKeyed(readOptionalIn(reads, dir, "memory.events") ?? "");
  // memory.peak (kernels ≥ 5.19). Since 6.12 a write to it resets the peak for that open file only,
  // and a descriptor that never wrote reads the cgroup-wide peak: the exporter's kept-open read-only
  // descriptors read the same value as a fresh open, whatever other openers reset.
  const maxUsageBytes = maxUsage ? parseCount(readOptionalIn(reads, dir, "memory.peak")) : undefined;
  return {
    version: 2,
    limitBytes: limit,
    usageBytes: usage,
    swapLimitBytes,
    swapUsageBytes,
    stat,
    oomKills: events.get("oom_kill"),
    oomEvents: events.get("oom"),
    limitHits: events.get("max"),
    highEvents: events.get("high"),
    kernelBytes: v2KernelBytes(statText),
    maxUsageBytes,
  };
}

/**
 * v2 kernel memory: memory.stat `kernel` (kernels ≥ 6.1), else the sum of the kernel parts older
 * kernels list separately (stacks, page tables, per-cpu, slab, vmalloc); undefined when none is listed.
 */
export function v2KernelBytes(statText: string): number | undefined {
  const total = flatValue(statText, "kernel");
  if (total !== undefined) return total;
  let sum: number | undefined;
  for (const k of ["kernel_stack", "pagetables", "percpu", "slab", "vmalloc"]) {
    const v = flatValue(statText, k);
    if (v !== undefined) sum = (sum ?? 0) + v;
  }
  return sum;
}

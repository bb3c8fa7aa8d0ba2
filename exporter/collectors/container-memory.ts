import type { MemoryData } from "../../cgroup/types.js";
import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

export interface CacheAsUsed {
  readonly mode: "active_file" | "percent";
  readonly percent: number;
}

/**
 * The field reports' stricter view: memory minus the page cache, plus the part of the cache
 * counted as used "based on experience" (memcg reclaims neither slab nor dirty cache well):
 * `active_file`, or `percent`% of the cache. Pure.
 */
export function strictUsageBytes(m: Pick<MemoryData, "usageBytes" | "stat">, rule: CacheAsUsed): number {
  const cache = m.stat.cache ?? 0;
  const counted = rule.mode === "active_file" ? (m.stat.activeFile ?? 0) : (cache * rule.percent) / 100;
  return Math.max(0, m.usageBytes - cache + Math.min(counted, cache));
}

/** usage − inactive_file, clamped at 0 (what the kernel would not reclaim first; cAdvisor's meaning). */
export function workingSetBytes(m: Pick<MemoryData, "usageBytes" | "stat">): number {
  return Math.max(0, m.usageBytes - (m.stat.inactiveFile ?? 0));
}

/**
 * memory.stat's breakdown and memory.events counters, from files the collector reads anyway (but
 * v2's swap usage, memory.swap.current): [metric, type, help, value]. A value the kernel does not give (v1/v2 differences, old kernels)
 * leaves its series out.
 */
const BREAKDOWN: ReadonlyArray<
  readonly [string, "gauge" | "counter", string, (m: MemoryData) => number | undefined]
> = [
  [
    "boxscope_container_memory_cache_bytes",
    "gauge",
    "Page cache charged to the container (memory.stat: v1 total_cache, v2 file).",
    (m) => m.stat.cache,
  ],
  [
    "boxscope_container_memory_rss_bytes",
    "gauge",
    "Anonymous memory of the container (memory.stat: v1 total_rss, v2 anon).",
    (m) => m.stat.rss,
  ],
  [
    "boxscope_container_memory_mapped_file_bytes",
    "gauge",
    "Page cache mapped into the container's processes (memory.stat: v1 total_mapped_file, v2 file_mapped).",
    (m) => m.stat.mapped,
  ],
  [
    "boxscope_container_memory_swap_bytes",
    "gauge",
    "Swap used by the container (v1 memory.stat total_swap, v2 memory.swap.current; with swap accounting).",
    (m) => m.stat.swap ?? m.swapUsageBytes,
  ],
  [
    "boxscope_container_memory_shmem_bytes",
    "gauge",
    "Shared memory and tmpfs charged to the container, part of the page cache but not reclaimable without swap (memory.stat: v1 total_shmem, v2 shmem).",
    (m) => m.stat.shmem,
  ],
  [
    "boxscope_container_memory_active_anon_bytes",
    "gauge",
    "Recently used anonymous memory and shmem (memory.stat: v1 total_active_anon, v2 active_anon).",
    (m) => m.stat.activeAnon,
  ],
  [
    "boxscope_container_memory_inactive_anon_bytes",
    "gauge",
    "Anonymous memory and shmem swapped out first (memory.stat: v1 total_inactive_anon, v2 inactive_anon).",
    (m) => m.stat.inactiveAnon,
  ],
  [
    "boxscope_container_memory_active_file_bytes",
    "gauge",
    "Recently used page cache (memory.stat: v1 total_active_file, v2 active_file).",
    (m) => m.stat.activeFile,
  ],
  [
    "boxscope_container_memory_inactive_file_bytes",
    "gauge",
    "Page cache reclaimed first (memory.stat: v1 total_inactive_file, v2 inactive_file).",
    (m) => m.stat.inactiveFile,
  ],
  [
    "boxscope_container_memory_page_faults_total",
    "counter",
    "Page faults in the container (memory.stat: v1 total_pgfault, v2 pgfault).",
    (m) => m.stat.pgfault,
  ],
  [
    "boxscope_container_memory_major_page_faults_total",
    "counter",
    "Page faults that needed I/O (memory.stat: v1 total_pgmajfault, v2 pgmajfault).",
    (m) => m.stat.pgmajfault,
  ],
  [
    "boxscope_container_memory_workingset_refaults_anon_total",
    "counter",
    "Evicted anonymous pages faulted back in (memory.stat: v1 total_workingset_refault_anon, v2 workingset_refault_anon).",
    (m) => m.stat.workingsetRefaultAnon,
  ],
  [
    "boxscope_container_memory_workingset_refaults_file_total",
    "counter",
    "Evicted page-cache pages faulted back in (memory.stat: v1 total_workingset_refault_file, v2 workingset_refault_file).",
    (m) => m.stat.workingsetRefaultFile,
  ],
  [
    "boxscope_container_memory_scanned_pages_total",
    "counter",
    "Pages scanned by reclaim in the container (memory.stat: v2 pgscan; v1 has none).",
    (m) => m.stat.pgscan,
  ],
  [
    "boxscope_container_memory_reclaimed_pages_total",
    "counter",
    "Pages reclaimed from the container (memory.stat: v2 pgsteal; v1 has none).",
    (m) => m.stat.pgsteal,
  ],
  [
    "boxscope_container_memory_limit_hits_total",
    "counter",
    "Times the container's usage hit its memory limit (v1 memory.failcnt, v2 memory.events max).",
    (m) => m.limitHits,
  ],
  [
    "boxscope_container_memory_high_events_total",
    "counter",
    "Times usage went over memory.high and the container was throttled (v2 memory.events high; v1 has none).",
    (m) => m.highEvents,
  ],
];

export function containerMemoryCollector(source: ContainerSource, cacheAsUsed: CacheAsUsed): Collector {
  const m = (name: string, help: string) =>
    ({ name, help, type: "gauge", labelNames: CONTAINER_LABEL_NAMES }) as const;
  return {
    name: "container_memory",
    metrics: [
      m("boxscope_container_memory_usage_bytes", "Memory charged to the container, page cache included."),
      m(
        "boxscope_container_memory_limit_bytes",
        "Effective memory limit (minimum over ancestors); absent when unlimited.",
      ),
      m("boxscope_container_memory_working_set_bytes", "usage − inactive_file, clamped at 0."),
      m(
        "boxscope_container_memory_strict_usage_bytes",
        "usage − page cache + the part of the cache counted as used (exporter.cacheAsUsed).",
      ),
      m(
        "boxscope_container_memory_dirty_bytes",
        "Page cache waiting to be written back (v1 total_dirty, v2 file_dirty).",
      ),
      m(
        "boxscope_container_memory_writeback_bytes",
        "Page cache being written back (v1 total_writeback, v2 file_writeback).",
      ),
      m(
        "boxscope_container_memory_slab_bytes",
        "Kernel slab memory charged to the container (v2 only: slab).",
      ),
      m(
        "boxscope_container_memory_kernel_bytes",
        "Kernel memory charged to the container: slab, stacks, page tables (v1 memory.kmem.usage_in_bytes, v2 kernel).",
      ),
      m(
        "boxscope_container_memory_max_usage_bytes",
        "Highest memory usage recorded for the container (v1 memory.max_usage_in_bytes, v2 memory.peak on kernels ≥ 5.19).",
      ),
      ...BREAKDOWN.map(([name, type, help]) => ({ name, help, type, labelNames: CONTAINER_LABEL_NAMES })),
    ],
    collect(sink) {
      for (const c of source.containers()) {
        const data = source.memory(c);
        if (!data) continue;
        sink.add("boxscope_container_memory_usage_bytes", data.usageBytes, c.labels);
        if (data.limitBytes !== null)
          sink.add("boxscope_container_memory_limit_bytes", data.limitBytes, c.labels);
        sink.add("boxscope_container_memory_working_set_bytes", workingSetBytes(data), c.labels);
        sink.add(
          "boxscope_container_memory_strict_usage_bytes",
          strictUsageBytes(data, cacheAsUsed),
          c.labels,
        );
        const optional: ReadonlyArray<readonly [string, number | undefined]> = [
          ["boxscope_container_memory_dirty_bytes", data.stat.dirty],
          ["boxscope_container_memory_writeback_bytes", data.stat.writeback],
          ["boxscope_container_memory_slab_bytes", data.stat.slab],
          ["boxscope_container_memory_kernel_bytes", data.kernelBytes],
          ["boxscope_container_memory_max_usage_bytes", data.maxUsageBytes],
        ];
        for (const [name, v] of optional) if (v !== undefined) sink.add(name, v, c.labels);
        for (const [name, , , value] of BREAKDOWN) {
          const v = value(data);
          if (v !== undefined) sink.add(name, v, c.labels);
        }
      }
    },
  };
}

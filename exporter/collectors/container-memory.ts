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
    ],
    collect(sink, view) {
      for (const c of source.containers(view.scrapeId)) {
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
        ];
        for (const [name, v] of optional) if (v !== undefined) sink.add(name, v, c.labels);
      }
    },
  };
}

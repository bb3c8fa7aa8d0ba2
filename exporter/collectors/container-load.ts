import { formatLoad } from "../../cgroup/loadavg/math.js";
import type { LoadavgSampler } from "../../cgroup/loadavg/sampler.js";
import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

const LOADS = [
  ["boxscope_container_load1", 1],
  ["boxscope_container_load5", 5],
  ["boxscope_container_load15", 15],
] as const;

/**
 * Per-container 1/5/15-minute load averages from the process's load-average sampler (the one the
 * shim's /proc/loadavg view reads under `boxscope up`): the container's R + D threads every 5 s,
 * decayed as the kernel does. Values are rounded to hundredths as /proc/loadavg prints them, so the
 * metric and the container's /proc/loadavg show the same number. A container appears once the
 * sampler has sampled it (within 5 s of being listed).
 */
export function containerLoadCollector(source: ContainerSource, sampler: LoadavgSampler): Collector {
  return {
    name: "container_load",
    metrics: [
      ...LOADS.map(([name, minutes]) => ({
        name,
        help: `${minutes}-minute load average of the container (its running and uninterruptible threads, sampled every 5 s, kernel decay), as its /proc/loadavg shows it through the shim.`,
        type: "gauge" as const,
        labelNames: CONTAINER_LABEL_NAMES,
      })),
      {
        name: "boxscope_container_threads_by_state",
        help: 'Threads of the container by state="running" (R) or "uninterruptible" (D), as the load-average sampler counted them at its last 5 s sample (cgroup tasks, /proc/<pid>/task/<tid>/stat).',
        type: "gauge" as const,
        labelNames: [...CONTAINER_LABEL_NAMES, "state"],
      },
    ],
    collect(sink) {
      for (const c of source.containers()) {
        // The exporter's list may name containers the sampler's own walk has not reached (or the
        // sampler does not walk at all: standalone exporter); tracking makes it sample them.
        sampler.track(c.path);
        const sample = sampler.get(c.path);
        if (sample === undefined) continue;
        LOADS.forEach(([name], i) => {
          sink.add(name, Number(formatLoad(sample.loads[i] as number)), c.labels);
        });
        sink.add("boxscope_container_threads_by_state", sample.running, { ...c.labels, state: "running" });
        sink.add("boxscope_container_threads_by_state", sample.blocked, {
          ...c.labels,
          state: "uninterruptible",
        });
      }
    },
  };
}

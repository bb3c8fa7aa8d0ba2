import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

/**
 * Per-container task count against its pids limit (v1 pids hierarchy or v2 pids controller), and
 * the forks the limit refused.
 */
export function containerPidsCollector(source: ContainerSource): Collector {
  return {
    name: "container_pids",
    metrics: [
      {
        name: "boxscope_container_pids",
        help: "Tasks (processes and threads) in the container's cgroup (pids.current).",
        type: "gauge",
        labelNames: CONTAINER_LABEL_NAMES,
      },
      {
        name: "boxscope_container_pids_limit",
        help: "Effective pids.max (minimum over the cgroup and its ancestors); absent when unlimited.",
        type: "gauge",
        labelNames: CONTAINER_LABEL_NAMES,
      },
      {
        name: "boxscope_container_fork_failures_total",
        help: "Forks and clones refused because a pids limit was reached (pids.events max).",
        type: "counter",
        labelNames: CONTAINER_LABEL_NAMES,
      },
    ],
    collect(sink) {
      for (const c of source.containers()) {
        const data = source.pids(c);
        if (!data) continue; // vanished mid-scrape or no pids controller: no series
        sink.add("boxscope_container_pids", data.current, c.labels);
        if (data.max !== null) sink.add("boxscope_container_pids_limit", data.max, c.labels);
        if (data.limitHits !== undefined)
          sink.add("boxscope_container_fork_failures_total", data.limitHits, c.labels);
      }
    },
  };
}

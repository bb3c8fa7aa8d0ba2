import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

/** Per-container CPU time consumed and the CFS quota in CPUs. */
export function containerCpuCollector(source: ContainerSource): Collector {
  return {
    name: "container_cpu",
    metrics: [
      {
        name: "boxscope_container_cpu_usage_seconds_total",
        help: "CPU time consumed by the container (v1 cpuacct.usage, v2 cpu.stat usage_usec).",
        type: "counter",
        labelNames: CONTAINER_LABEL_NAMES,
      },
      {
        name: "boxscope_container_cpu_limit_cpus",
        help: "Effective CFS quota in CPUs (quota/period, minimum over ancestors); absent when unlimited.",
        type: "gauge",
        labelNames: CONTAINER_LABEL_NAMES,
      },
    ],
    collect(sink, view) {
      for (const c of source.containers(view.scrapeId)) {
        const data = source.cpu(c);
        if (!data) continue;
        sink.add("boxscope_container_cpu_usage_seconds_total", data.usageNs / 1e9, c.labels);
        if (data.quotaCpus !== null) sink.add("boxscope_container_cpu_limit_cpus", data.quotaCpus, c.labels);
      }
    },
  };
}

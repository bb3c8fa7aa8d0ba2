import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

/** Per-container CPU time consumed, the CFS quota in CPUs, the CPU weight, and the CFS throttling counters. */
export function containerCpuCollector(source: ContainerSource): Collector {
  const m = (name: string, help: string, type: "counter" | "gauge") =>
    ({ name, help, type, labelNames: CONTAINER_LABEL_NAMES }) as const;
  return {
    name: "container_cpu",
    metrics: [
      m(
        "boxscope_container_cpu_usage_seconds_total",
        "CPU time consumed by the container (v1 cpuacct.usage, v2 cpu.stat usage_usec).",
        "counter",
      ),
      m(
        "boxscope_container_cpu_user_seconds_total",
        "CPU time the container spent in user mode (v1 cpuacct.stat user, 10 ms ticks; v2 cpu.stat user_usec).",
        "counter",
      ),
      m(
        "boxscope_container_cpu_system_seconds_total",
        "CPU time the container spent in the kernel (v1 cpuacct.stat system, 10 ms ticks; v2 cpu.stat system_usec).",
        "counter",
      ),
      m(
        "boxscope_container_cpu_limit_cpus",
        "Effective CFS quota in CPUs (quota/period, minimum over ancestors); absent when unlimited.",
        "gauge",
      ),
      m(
        "boxscope_container_cpu_shares",
        "CPU weight of the container as cgroup v1 shares (v1 cpu.shares; v2 cpu.weight w as 2 + ⌊(w − 1) × 262142 / 9999⌋: the inverse of runc's and Kubernetes' shares → weight mapping, as cAdvisor).",
        "gauge",
      ),
      m(
        "boxscope_container_cpu_cfs_periods_total",
        "CFS enforcement periods in which the container was runnable (cpu.stat nr_periods).",
        "counter",
      ),
      m(
        "boxscope_container_cpu_cfs_throttled_periods_total",
        "CFS periods in which the container exhausted its quota and was throttled (cpu.stat nr_throttled).",
        "counter",
      ),
      m(
        "boxscope_container_cpu_cfs_throttled_seconds_total",
        "Time the container's runnable tasks spent throttled (v1 cpu.stat throttled_time, v2 throttled_usec).",
        "counter",
      ),
    ],
    collect(sink) {
      for (const c of source.containers()) {
        const data = source.cpu(c);
        if (!data) continue;
        sink.add("boxscope_container_cpu_usage_seconds_total", data.usageNs / 1e9, c.labels);
        if (data.userNs !== undefined)
          sink.add("boxscope_container_cpu_user_seconds_total", data.userNs / 1e9, c.labels);
        if (data.systemNs !== undefined)
          sink.add("boxscope_container_cpu_system_seconds_total", data.systemNs / 1e9, c.labels);
        if (data.quotaCpus !== null) sink.add("boxscope_container_cpu_limit_cpus", data.quotaCpus, c.labels);
        if (data.shares !== undefined) sink.add("boxscope_container_cpu_shares", data.shares, c.labels);
        const t = data.throttle;
        if (t === undefined) continue; // no cpu controller for this cgroup (v2: not enabled there)
        sink.add("boxscope_container_cpu_cfs_periods_total", t.periods, c.labels);
        sink.add("boxscope_container_cpu_cfs_throttled_periods_total", t.throttled, c.labels);
        sink.add("boxscope_container_cpu_cfs_throttled_seconds_total", t.throttledNs / 1e9, c.labels);
      }
    },
  };
}

import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import {
  boxscopeDashboard,
  INSTANCE,
  percentOfLimit,
  queryVariable,
  row,
  stat,
  table,
  timeseries,
} from "./common.js";
import { withLoadAndNetwork } from "./container-load-network.js";

/** Selector for the container picked in the `container` variable, on the chosen hosts. */
const C = `${INSTANCE}, container_id=~"$container"`;

/** Containers known on the chosen hosts, by full id (names may be empty or reused). */
function containerVariable(): dashboard.QueryVariableBuilder {
  return queryVariable(
    "container",
    "Container",
    `label_values(boxscope_container_info{${INSTANCE}}, container_id)`,
  ).multi(false);
}

/**
 * One container: memory against its limit in both views (working set, and the strict view with
 * page cache counted as used, which the alert uses) and its peak, the memory the kernel holds,
 * anonymous and shared memory, CPU against its quota, its weight and its throttling, pids against pids.max and refused forks, OOM kills, pressure stalls and
 * block I/O, its log lines matching log rules, its load average and network traffic.
 */
export function containerDashboard(): dashboard.Dashboard {
  const d = boxscopeDashboard(
    "boxscope / container",
    "boxscope-container",
    "One container's memory, CPU, pids and OOM kills against its limits, its log pattern matches, its load average and network traffic.",
  )
    .withVariable(containerVariable())
    .withPanel(
      table({
        title: "Container",
        description: "Name, team, runtime and pod of the chosen container (boxscope_container_info).",
        queries: [[`boxscope_container_info{${C}}`, ""]],
        h: 4,
      }),
    )
    .withRow(row("Memory"))
    .withPanel(
      timeseries({
        title: "Memory vs limit",
        description:
          "usage (cgroup), working set (usage − inactive file cache), strict (page cache counted as used: what the alert uses), the highest usage recorded (v1 max_usage_in_bytes, v2 memory.peak) and the limit.",
        unit: "bytes",
        min: 0,
        queries: [
          [`boxscope_container_memory_usage_bytes{${C}}`, "usage"],
          [`boxscope_container_memory_max_usage_bytes{${C}}`, "max usage (peak)"],
          [`boxscope_container_memory_working_set_bytes{${C}}`, "working set"],
          [`boxscope_container_memory_strict_usage_bytes{${C}}`, "strict (cache as used)"],
          [`boxscope_container_memory_limit_bytes{${C}}`, "limit"],
        ],
      }),
    )
    .withPanel(
      percentOfLimit({
        title: "Memory % of limit, both views",
        description:
          "Strict view vs working set, as a share of the limit. Alert on the strict view: warning 75%, critical 85% (lower than the host's 90%).",
        thresholds: [0.75, 0.85],
        queries: [
          [
            `boxscope_container_memory_strict_usage_bytes{${C}} / boxscope_container_memory_limit_bytes{${C}}`,
            "strict (cache as used)",
          ],
          [
            `boxscope_container_memory_working_set_bytes{${C}} / boxscope_container_memory_limit_bytes{${C}}`,
            "working set",
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Memory the kernel holds",
        description:
          "Dirty and writeback page cache (memcg limits neither well), kernel memory (slab, stacks, page tables) and slab alone (cgroup v2 only).",
        unit: "bytes",
        min: 0,
        queries: [
          [`boxscope_container_memory_dirty_bytes{${C}}`, "dirty"],
          [`boxscope_container_memory_writeback_bytes{${C}}`, "writeback"],
          [`boxscope_container_memory_kernel_bytes{${C}}`, "kernel"],
          [`boxscope_container_memory_slab_bytes{${C}}`, "slab"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Anonymous and shared memory",
        description:
          "Anonymous memory (rss) split into its active and inactive lists (both also hold shmem), shared memory and tmpfs (page cache that reclaim cannot drop without swap) and swap used.",
        unit: "bytes",
        min: 0,
        queries: [
          [`boxscope_container_memory_rss_bytes{${C}}`, "anon (rss)"],
          [`boxscope_container_memory_active_anon_bytes{${C}}`, "active anon"],
          [`boxscope_container_memory_inactive_anon_bytes{${C}}`, "inactive anon"],
          [`boxscope_container_memory_shmem_bytes{${C}}`, "shmem / tmpfs"],
          [`boxscope_container_memory_swap_bytes{${C}}`, "swap"],
        ],
      }),
    )
    .withPanel(
      stat({
        title: "OOM kills (total, by source)",
        description: "OOM kills counted by the memory cgroup and by the kernel log.",
        queries: [[`boxscope_container_oom_kills_total{${C}}`, "{{source}}"]],
        thresholds: [1, 3],
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: "OOM kills (last hour)",
        description: "One kill counted once across both sources.",
        queries: [[`max without (source) (increase(boxscope_container_oom_kills_total{${C}}[1h]))`, "kills"]],
        w: 16,
        h: 5,
      }),
    )
    .withRow(row("CPU and pids"))
    .withPanel(
      timeseries({
        title: "CPU vs limit",
        description: "CPUs used (rate of cpuacct usage) and the CFS quota in CPUs.",
        unit: "short",
        min: 0,
        queries: [
          [`rate(boxscope_container_cpu_usage_seconds_total{${C}}[$__rate_interval])`, "used CPUs"],
          [`boxscope_container_cpu_limit_cpus{${C}}`, "limit CPUs"],
        ],
        w: 10,
      }),
    )
    .withPanel(
      stat({
        title: "CPU weight (shares)",
        description:
          "The container's CPU weight as cgroup v1 shares (v2 cpu.weight converted): its share of contended CPU against its sibling cgroups. v1's default is 1024; v2's default weight 100 reads as 2597.",
        queries: [[`boxscope_container_cpu_shares{${C}}`, "shares"]],
        w: 4,
        h: 8,
      }),
    )
    .withPanel(
      percentOfLimit({
        title: "CPU throttling",
        description:
          "Share of CFS periods in which the quota ran out (throttled periods ÷ periods), and seconds throttled per second. The throttling alert fires above 25% of periods.",
        thresholds: [0.25, 0.5],
        queries: [
          [
            `rate(boxscope_container_cpu_cfs_throttled_periods_total{${C}}[$__rate_interval]) / rate(boxscope_container_cpu_cfs_periods_total{${C}}[$__rate_interval])`,
            "throttled periods",
          ],
          [
            `rate(boxscope_container_cpu_cfs_throttled_seconds_total{${C}}[$__rate_interval])`,
            "throttled s/s",
          ],
        ],
        w: 10,
      }),
    )
    .withPanel(
      timeseries({
        title: "Pids vs limit",
        description: "Tasks (processes and threads) and pids.max. Alert at 75% (warning) and 90% (critical).",
        min: 0,
        queries: [
          [`boxscope_container_pids{${C}}`, "pids"],
          [`boxscope_container_pids_limit{${C}}`, "pids.max"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Fork failures",
        description:
          "Forks refused because the pids limit was reached (pids.events max), per 5 minutes. Any alerts.",
        min: 0,
        queries: [[`increase(boxscope_container_fork_failures_total{${C}}[5m])`, "refused forks"]],
      }),
    )
    .withRow(row("Pressure and block I/O"))
    .withPanel(
      percentOfLimit({
        title: "Pressure stall (PSI)",
        description:
          "Share of time some task waited (some) or all tasks stalled (full) on CPU, memory or I/O (cgroup v2 <resource>.pressure). Memory full above 10% alerts.",
        thresholds: [0.1, 0.3],
        queries: [
          [`rate(boxscope_container_pressure_cpu_waiting_seconds_total{${C}}[$__rate_interval])`, "cpu some"],
          [
            `rate(boxscope_container_pressure_memory_waiting_seconds_total{${C}}[$__rate_interval])`,
            "memory some",
          ],
          [
            `rate(boxscope_container_pressure_memory_stalled_seconds_total{${C}}[$__rate_interval])`,
            "memory full",
          ],
          [`rate(boxscope_container_pressure_io_waiting_seconds_total{${C}}[$__rate_interval])`, "io some"],
          [`rate(boxscope_container_pressure_io_stalled_seconds_total{${C}}[$__rate_interval])`, "io full"],
          [`rate(boxscope_container_pressure_cpu_stalled_seconds_total{${C}}[$__rate_interval])`, "cpu full"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Block I/O",
        description: "Bytes read and written per second by device (major:minor).",
        unit: "Bps",
        queries: [
          [`rate(boxscope_container_io_read_bytes_total{${C}}[$__rate_interval])`, "read {{device}}"],
          [`rate(boxscope_container_io_written_bytes_total{${C}}[$__rate_interval])`, "written {{device}}"],
        ],
        w: 6,
      }),
    )
    .withPanel(
      timeseries({
        title: "Block I/O operations",
        description: "Read and write operations per second by device (major:minor).",
        unit: "iops",
        queries: [
          [`rate(boxscope_container_io_reads_total{${C}}[$__rate_interval])`, "reads {{device}}"],
          [`rate(boxscope_container_io_writes_total{${C}}[$__rate_interval])`, "writes {{device}}"],
        ],
        w: 6,
      }),
    )
    .withRow(row("Logs"))
    .withPanel(
      timeseries({
        title: "Log pattern matches (last 5 minutes)",
        description:
          "Lines of the container's log files matching each log rule in the last 5 minutes, with the rule's severity; BoxscopeLogPatternMatched tells the container's team and the PE once a rule reaches its threshold.",
        min: 0,
        queries: [
          [
            `sum by (rule, severity) (increase(boxscope_log_pattern_matches_total{${C}}[5m]))`,
            "{{rule}} ({{severity}})",
          ],
        ],
        w: 24,
      }),
    );
  return withLoadAndNetwork(d, C).build();
}

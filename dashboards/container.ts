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
 * page cache counted as used, which the alert uses), CPU against its quota, pids against pids.max,
 * its OOM kills, its log lines matching log rules, its load average and network traffic.
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
          "usage (cgroup), working set (usage − inactive file cache), strict (page cache counted as used: what the alert uses) and the limit.",
        unit: "bytes",
        min: 0,
        queries: [
          [`boxscope_container_memory_usage_bytes{${C}}`, "usage"],
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

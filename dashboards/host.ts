import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import {
  boxscopeDashboard,
  CONTAINER_LEGEND,
  HEALTH_WORDS,
  INSTANCE,
  percentOfLimit,
  row,
  stat,
  table,
  timeseries,
  valueWords,
} from "./common.js";

/**
 * Host overview: the thresholds that took real hosts down (docs/alerts.md, "Why these signals"), one row each, with the
 * alert thresholds drawn as lines so a viewer sees how close the host is to paging someone.
 */
export function hostDashboard(): dashboard.Dashboard {
  return boxscopeDashboard(
    "boxscope / host overview",
    "boxscope-host",
    "Host thresholds watched by boxscope: PIDs, conntrack, OOM kills, key processes, log partition.",
  )
    .withRow(row("Health"))
    .withPanel(
      stat({
        title: "Health",
        description:
          "boxscope_host_health_status in words: 0 ok, 1 monitoring problem, 2 network problem, 3 PID exhaustion, 4 memory, 5 key process down or hung, 6 log partition full. The lowest failing code wins.",
        queries: [[`boxscope_host_health_status{${INSTANCE}}`, "{{instance}}"]],
        mappings: HEALTH_WORDS,
        w: 8,
      }),
    )
    .withPanel(
      table({
        title: "Firing boxscope alerts",
        description:
          "Alerts Prometheus currently fires for these hosts (ALERTS series), with severity and team.",
        queries: [[`ALERTS{alertstate="firing", alertname=~"Boxscope.*", ${INSTANCE}}`, ""]],
        w: 16,
        h: 5,
      }),
    )
    .withRow(row("PIDs"))
    .withPanel(
      percentOfLimit({
        title: "Threads vs kernel.pid_max and threads-max",
        description:
          "Every thread holds a PID; pid_max is global to the host and all containers. Alert: warning 75%, critical 90%.",
        thresholds: [0.75, 0.9],
        queries: [
          [
            `boxscope_host_threads{${INSTANCE}} / boxscope_host_pid_max{${INSTANCE}}`,
            "{{instance}} of pid_max",
          ],
          [
            `boxscope_host_threads{${INSTANCE}} / boxscope_host_threads_max{${INSTANCE}}`,
            "{{instance}} of threads-max",
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Processes, threads and pid_max",
        description: "Absolute counts: processes, threads (tasks) and the kernel.pid_max limit.",
        queries: [
          [`boxscope_host_processes{${INSTANCE}}`, "{{instance}} processes"],
          [`boxscope_host_threads{${INSTANCE}}`, "{{instance}} threads"],
          [`boxscope_host_pid_max{${INSTANCE}}`, "{{instance}} pid_max"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Top containers by pids",
        description: "The containers holding most PIDs: where a thread leak shows first.",
        queries: [[`topk(10, boxscope_container_pids{${INSTANCE}})`, CONTAINER_LEGEND]],
        w: 24,
      }),
    )
    .withRow(row("Network: connection tracking"))
    .withPanel(
      percentOfLimit({
        title: "Conntrack table fill",
        description: "nf_conntrack entries / nf_conntrack_max. Alert: warning 75%, critical 90%.",
        thresholds: [0.75, 0.9],
        queries: [
          [
            `boxscope_conntrack_entries{${INSTANCE}} / boxscope_conntrack_entries_limit{${INSTANCE}}`,
            "{{instance}}",
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Conntrack drops and failures",
        description:
          "Packets dropped, failed inserts and early drops per second: each is a failed connection.",
        unit: "pps",
        queries: [
          [`rate(boxscope_conntrack_drop_total{${INSTANCE}}[$__rate_interval])`, "{{instance}} drop"],
          [
            `rate(boxscope_conntrack_insert_failed_total{${INSTANCE}}[$__rate_interval])`,
            "{{instance}} insert_failed",
          ],
          [
            `rate(boxscope_conntrack_early_drop_total{${INSTANCE}}[$__rate_interval])`,
            "{{instance}} early_drop",
          ],
          [
            `rate(boxscope_conntrack_search_restart_total{${INSTANCE}}[$__rate_interval])`,
            "{{instance}} search_restart",
          ],
        ],
      }),
    )
    .withRow(row("Memory: containers near their limit, OOM kills"))
    .withPanel(
      percentOfLimit({
        title: "Top containers by memory % of limit (cache counted as used)",
        description:
          "The strict view the memory alert uses: warning 75%, critical 85% of the limit, lower than the host's 90%.",
        thresholds: [0.75, 0.85],
        queries: [
          [
            `topk(10, boxscope_container_memory_strict_usage_bytes{${INSTANCE}} / boxscope_container_memory_limit_bytes{${INSTANCE}})`,
            CONTAINER_LEGEND,
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Container OOM kills (last hour)",
        description:
          "OOM kills per container over the last hour; one kill is counted once whether the cgroup counter or the kernel log saw it.",
        queries: [
          [
            `max without (source) (increase(boxscope_container_oom_kills_total{${INSTANCE}}[1h]))`,
            CONTAINER_LEGEND,
          ],
        ],
      }),
    )
    .withRow(row("Key processes"))
    .withPanel(
      stat({
        title: "Key processes",
        description:
          "Whether each key process (dockerd, containerd, kubelet, crio, boxscope's parts, configured ones) runs.",
        queries: [[`boxscope_process_up{${INSTANCE}}`, "{{instance}} {{process}}"]],
        mappings: valueWords({ 0: ["down", "red"], 1: ["up", "green"] }),
        w: 12,
      }),
    )
    .withPanel(
      stat({
        title: "Key process health probes",
        description:
          "Whether each running key process with a health endpoint answers it (Docker /_ping, containerd's gRPC health, kubelet /healthz, CRI-O /info). hung = runs but does not answer: alert BoxscopeKeyProcessHung after 1 minute.",
        queries: [[`boxscope_process_healthy{${INSTANCE}}`, "{{instance}} {{process}}"]],
        mappings: valueWords({ 0: ["hung", "red"], 1: ["healthy", "green"] }),
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: "Health probe duration and failures (last hour)",
        description:
          "How long each key process took to answer its last probe (the timeout, 5 s by default, when it did not), and failed probes in the last hour by reason (timeout, no_socket, refused, status, error).",
        queries: [
          [`boxscope_process_probe_duration_seconds{${INSTANCE}}`, "{{instance}} {{process}} probe seconds"],
          [
            `increase(boxscope_process_probe_failures_total{${INSTANCE}}[1h])`,
            "{{instance}} {{process}} {{reason}} failures",
          ],
        ],
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: "Key process restarts (last hour) and instances",
        description: "Restarts seen in the last hour, and how many processes match each key process.",
        queries: [
          [`increase(boxscope_process_restarts_total{${INSTANCE}}[1h])`, "{{instance}} {{process}} restarts"],
          [`boxscope_process_instances{${INSTANCE}}`, "{{instance}} {{process}} instances"],
        ],
        w: 12,
      }),
    )
    .withRow(row("Logs"))
    .withPanel(
      percentOfLimit({
        title: "Log partition used",
        description: "Space and inodes used on the log partition. Alert: warning 80%, critical 90% used.",
        thresholds: [0.8, 0.9],
        queries: [
          [
            `1 - boxscope_log_partition_avail_bytes{${INSTANCE}} / boxscope_log_partition_size_bytes{${INSTANCE}}`,
            "{{instance}} {{path}} space",
          ],
          [
            `1 - boxscope_log_partition_inodes_free{${INSTANCE}} / boxscope_log_partition_inodes{${INSTANCE}}`,
            "{{instance}} {{path}} inodes",
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Log partition free space, now and predicted in 24 h",
        description:
          "Linear prediction over the last 6 hours, as the BoxscopeLogPartitionFillingUp alert computes it.",
        unit: "bytes",
        queries: [
          [`boxscope_log_partition_avail_bytes{${INSTANCE}}`, "{{instance}} {{path}} free"],
          [
            `predict_linear(boxscope_log_partition_avail_bytes{${INSTANCE}}[6h], 24 * 3600)`,
            "{{instance}} {{path}} predicted in 24 h",
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Log pattern matches",
        description:
          "Lines per second matching each log rule, in log files and in the kernel log, with the rule's severity.",
        queries: [
          [
            `sum by (instance, rule, source, severity) (rate(boxscope_log_pattern_matches_total{${INSTANCE}}[$__rate_interval]))`,
            "{{instance}} {{rule}} ({{source}}, {{severity}})",
          ],
        ],
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: "Log rules against their alert threshold",
        description:
          "Matches in the last 5 minutes of each rule, and the count at which BoxscopeLogPatternMatched fires at the rule's severity (1 = the first line).",
        min: 0,
        queries: [
          [
            `sum by (instance, rule, severity) (increase(boxscope_log_pattern_matches_total{${INSTANCE}}[5m]))`,
            "{{instance}} {{rule}} ({{severity}}) matches in 5 min",
          ],
          [
            `max by (instance, rule, severity) (boxscope_log_pattern_threshold{${INSTANCE}})`,
            "{{instance}} {{rule}} ({{severity}}) threshold",
          ],
        ],
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: "Log file matches by container (last hour)",
        description:
          "Matches of file rules in the last hour by the container owning the log directory, and its team: whom BoxscopeLogPatternMatched notifies with the PE. Empty container labels: files outside any container directory.",
        min: 0,
        queries: [
          [
            `sum by (instance, container_name, container_id, team, rule) (increase(boxscope_log_pattern_matches_total{${INSTANCE}, source="file"}[1h]))`,
            "{{instance}} {{container_name}} {{container_id}} team {{team}}: {{rule}}",
          ],
        ],
        w: 24,
      }),
    )
    .withRow(row("Exporter"))
    .withPanel(
      stat({
        title: "Collectors",
        description:
          "Whether each exporter collector succeeded on its last scrape (0 = its alerts are blind).",
        queries: [[`boxscope_collector_up{${INSTANCE}}`, "{{instance}} {{collector}}"]],
        mappings: valueWords({ 0: ["failing", "red"], 1: ["ok", "green"] }),
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: "Collector duration",
        description: "Seconds each collector takes per scrape.",
        unit: "s",
        queries: [[`boxscope_collector_duration_seconds{${INSTANCE}}`, "{{instance}} {{collector}}"]],
        w: 12,
      }),
    )
    .build();
}

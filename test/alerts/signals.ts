import { existsSync } from "node:fs";

/**
 * Which exporter signals exist on this host while the alerts e2e runs: a dashboard panel reading
 * only these must return at least one series. Everything a dashboard reads is either here or in
 * absentSignals() with the reason; the e2e fails on any metric in neither (no silent skipping).
 */
const ALWAYS = [
  // host limits, health and the exporter itself: read from /proc on every Linux host
  "boxscope_host_processes",
  "boxscope_host_threads",
  "boxscope_host_pid_max",
  "boxscope_host_threads_max",
  "boxscope_host_health_status",
  "boxscope_collector_up",
  "boxscope_collector_duration_seconds",
  // the e2e's two container cgroups: limits on memory, pids and CPU; one of them OOM-killed
  "boxscope_container_info",
  "boxscope_container_pids",
  "boxscope_container_pids_limit",
  "boxscope_container_memory_usage_bytes",
  "boxscope_container_memory_limit_bytes",
  "boxscope_container_memory_working_set_bytes",
  "boxscope_container_memory_strict_usage_bytes",
  "boxscope_container_cpu_usage_seconds_total",
  "boxscope_container_cpu_limit_cpus",
  "boxscope_container_oom_kills_total",
  // key process: the e2e configures Prometheus (which it runs) as one
  "boxscope_process_up",
  "boxscope_process_instances",
  "boxscope_process_restarts_total",
  // log partition of the e2e's log root; built-in kernel-log patterns always have series (and
  // thresholds); the e2e's file rule matches a line in the steady container's log directory
  "boxscope_log_partition_size_bytes",
  "boxscope_log_partition_avail_bytes",
  "boxscope_log_partition_inodes",
  "boxscope_log_partition_inodes_free",
  "boxscope_log_pattern_matches_total",
  "boxscope_log_pattern_threshold",
  // the OOM alert fires during the e2e
  "ALERTS",
  // the e2e runs the logwatcher on a small log tree and removes one spool link (a repair)
  "boxscope_logwatcher_links",
  "boxscope_logwatcher_link_events_total",
  "boxscope_logwatcher_reconcile_repairs_total",
  "boxscope_logwatcher_link_latency_seconds",
  "boxscope_logwatcher_polling_subtrees",
];

/** The load-average sampler samples the e2e's containers within 5 s of the exporter's first scrape. */
const CONTAINER_LOAD = ["boxscope_container_load1", "boxscope_container_load5", "boxscope_container_load15"];

/** Counters of a container's own network namespace: the e2e's containers share the host's. */
const CONTAINER_NETWORK = [
  "boxscope_container_network_receive_bytes_total",
  "boxscope_container_network_transmit_bytes_total",
  "boxscope_container_network_receive_packets_total",
  "boxscope_container_network_transmit_packets_total",
  "boxscope_container_network_receive_drop_total",
  "boxscope_container_network_transmit_drop_total",
];

const CONNTRACK = [
  "boxscope_conntrack_entries",
  "boxscope_conntrack_entries_limit",
  "boxscope_conntrack_insert_failed_total",
  "boxscope_conntrack_drop_total",
  "boxscope_conntrack_early_drop_total",
  "boxscope_conntrack_search_restart_total",
];

const PIPELINE = [
  "boxscope_ship_lines_total",
  "boxscope_ship_bytes_total",
  "boxscope_ship_lag_bytes",
  "boxscope_ship_retries_total",
  "boxscope_ship_position_age_seconds",
  "boxscope_ship_open_files",
  "boxscope_ship_truncation_unread_lines_total",
  "boxscope_index_documents_total",
  "boxscope_index_retries_total",
  "boxscope_index_dead_letters_total",
  "boxscope_index_consumer_lag",
];

/** nf_conntrack is a module: without it loaded the host has no table to count. */
const conntrackLoaded = (): boolean => existsSync("/proc/sys/net/netfilter/nf_conntrack_count");

export function presentSignals(): Set<string> {
  return new Set([...ALWAYS, ...CONTAINER_LOAD, ...(conntrackLoaded() ? CONNTRACK : [])]);
}

export function absentSignals(): Map<string, string> {
  const absent = new Map<string, string>();
  absent.set(
    "boxscope_logwatcher_errors_total",
    "a healthy logwatcher has no errors; the labelled counter appears with the first one",
  );
  for (const m of PIPELINE) {
    absent.set(
      m,
      "served by boxscope ship/index, which need Kafka and Elasticsearch; this e2e does not run them (the pipeline tests do)",
    );
  }
  for (const m of [
    "boxscope_process_healthy",
    "boxscope_process_probe_duration_seconds",
    "boxscope_process_probe_failures_total",
  ]) {
    absent.set(
      m,
      "health probes run against container runtimes, which this e2e does not start (test/alerts/key-process-runtimes.test.ts runs real dockerd and containerd)",
    );
  }
  for (const m of CONTAINER_NETWORK) {
    absent.set(
      m,
      "the e2e's containers run in the host's network namespace, which has no container series (test/exporter/network.test.ts gives them one)",
    );
  }
  if (!conntrackLoaded())
    for (const m of CONNTRACK) absent.set(m, "nf_conntrack module not loaded on this host");
  return absent;
}

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readCgroupMounts } from "../../cgroup/mounts.js";

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
  "boxscope_container_cpu_cfs_periods_total",
  "boxscope_container_cpu_cfs_throttled_periods_total",
  "boxscope_container_cpu_cfs_throttled_seconds_total",
  "boxscope_container_fork_failures_total",
  "boxscope_container_memory_dirty_bytes",
  "boxscope_container_memory_writeback_bytes",
  "boxscope_container_memory_kernel_bytes",
  // memory.stat's breakdown (both versions; refaults need kernels ≥ 5.9), the limit hits
  // (v1 memory.failcnt, v2 memory.events max), the user/system split and the start of the init
  "boxscope_container_memory_cache_bytes",
  "boxscope_container_memory_rss_bytes",
  "boxscope_container_memory_mapped_file_bytes",
  "boxscope_container_memory_active_file_bytes",
  "boxscope_container_memory_inactive_file_bytes",
  "boxscope_container_memory_page_faults_total",
  "boxscope_container_memory_major_page_faults_total",
  "boxscope_container_memory_workingset_refaults_anon_total",
  "boxscope_container_memory_workingset_refaults_file_total",
  "boxscope_container_memory_limit_hits_total",
  "boxscope_container_cpu_user_seconds_total",
  "boxscope_container_cpu_system_seconds_total",
  "boxscope_container_start_time_seconds",
  // shared and anonymous memory (memory.stat, both versions), the peak (v1 max_usage_in_bytes, v2
  // memory.peak: kernels ≥ 5.19) and the CPU weight (v1 cpu.shares, v2 cpu.weight)
  "boxscope_container_memory_shmem_bytes",
  "boxscope_container_memory_active_anon_bytes",
  "boxscope_container_memory_inactive_anon_bytes",
  "boxscope_container_memory_max_usage_bytes",
  "boxscope_container_cpu_shares",
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
const CONTAINER_LOAD = [
  "boxscope_container_load1",
  "boxscope_container_load5",
  "boxscope_container_load15",
  "boxscope_container_threads_by_state",
];

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

/** Container signals only cgroup v2 gives: slab and reclaim counters in memory.stat, memory.events
 * high, and PSI (the test cgroups of a hybrid host live in the v1 hierarchies only, so they have no
 * pressure files). */
const CONTAINER_V2 = [
  "boxscope_container_memory_slab_bytes",
  "boxscope_container_memory_scanned_pages_total",
  "boxscope_container_memory_reclaimed_pages_total",
  "boxscope_container_memory_high_events_total",
  ...["cpu", "memory", "io"].flatMap((r) => [
    `boxscope_container_pressure_${r}_waiting_seconds_total`,
    `boxscope_container_pressure_${r}_stalled_seconds_total`,
  ]),
];

/** Swap use: v1 memory.stat total_swap, v2 memory.swap.current; both need swap accounting. */
const CONTAINER_SWAP = ["boxscope_container_memory_swap_bytes"];

/**
 * Swap accounting is on: v1 has memory.memsw.* files, v2 memory.swap.current in the cgroups with
 * the memory controller (the root has none: its children are looked at).
 */
const swapAccounting = (): boolean => {
  const mounts = readCgroupMounts();
  const memory = mounts.v1.get("memory");
  if (memory !== undefined) return existsSync(join(memory, "memory.memsw.usage_in_bytes"));
  const unified = mounts.unified;
  if (unified === undefined) return false;
  return readdirSync(unified, { withFileTypes: true }).some(
    (e) => e.isDirectory() && existsSync(join(unified, e.name, "memory.swap.current")),
  );
};

const CONTAINER_IO = [
  "boxscope_container_io_read_bytes_total",
  "boxscope_container_io_written_bytes_total",
  "boxscope_container_io_reads_total",
  "boxscope_container_io_writes_total",
];

/** The test cgroups use the unified hierarchy when no v1 memory hierarchy is mounted. */
const testCgroupsOnV2 = (): boolean => !readCgroupMounts().v1.has("memory");

const PIPELINE = [
  "boxscope_ship_lines_total",
  "boxscope_ship_bytes_total",
  "boxscope_ship_lag_bytes",
  "boxscope_ship_retries_total",
  "boxscope_ship_position_age_seconds",
  "boxscope_ship_open_files",
  "boxscope_ship_truncation_unread_lines_total",
  "boxscope_ship_container_lag_seconds",
  "boxscope_ship_container_throttled_bytes_total",
  "boxscope_ship_decode_problems_total",
  "boxscope_index_documents_total",
  "boxscope_index_retries_total",
  "boxscope_index_dead_letters_total",
  "boxscope_index_consumer_lag",
];

/** nf_conntrack is a module: without it loaded the host has no table to count. */
const conntrackLoaded = (): boolean => existsSync("/proc/sys/net/netfilter/nf_conntrack_count");

export function presentSignals(): Set<string> {
  return new Set([
    ...ALWAYS,
    ...CONTAINER_LOAD,
    ...(conntrackLoaded() ? CONNTRACK : []),
    ...(testCgroupsOnV2() ? CONTAINER_V2 : []),
    ...(swapAccounting() ? CONTAINER_SWAP : []),
  ]);
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
  for (const m of CONTAINER_IO) {
    absent.set(
      m,
      "the e2e's test cgroups are in no blkio hierarchy (v1) and lack the io controller (v2): no I/O counters (test/exporter/cgroup-files.test.ts covers the readers)",
    );
  }
  if (!testCgroupsOnV2()) {
    for (const m of CONTAINER_V2)
      absent.set(
        m,
        "cgroup v1: memory.stat has no slab nor reclaim counters, memory.events no high, and the test cgroups have no unified directory for PSI",
      );
  }
  if (!swapAccounting()) {
    for (const m of CONTAINER_SWAP)
      absent.set(
        m,
        "no swap accounting on this host (v1: no memory.memsw.* files, so memory.stat has no total_swap; v2: no memory.swap.current)",
      );
  }
  if (!conntrackLoaded())
    for (const m of CONNTRACK) absent.set(m, "nf_conntrack module not loaded on this host");
  return absent;
}

import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { boxscopeDashboard, INSTANCE, row, timeseries } from "./common.js";

const rate = (metric: string, by = "instance") =>
  `sum by (${by}) (rate(${metric}{${INSTANCE}}[$__rate_interval]))`;

const linkLatency = (quantile: number) =>
  `histogram_quantile(${quantile}, sum by (instance, le) (rate(boxscope_logwatcher_link_latency_seconds_bucket{${INSTANCE}}[$__rate_interval])))`;

/**
 * The log pipeline, vivo's kiver-guard → Flume → Kafka → Elasticsearch made boxscope's:
 * logwatcher (unique symlinks in a flat spool), shipper (spool → Kafka), indexer (Kafka → Elasticsearch).
 */
export function pipelineDashboard(): dashboard.Dashboard {
  return boxscopeDashboard(
    "boxscope / log pipeline",
    "boxscope-log-pipeline",
    "logwatcher, shipper and indexer: is every log file linked, shipped to Kafka and indexed?",
  )
    .withRow(row("logwatcher: spool of unique symlinks"))
    .withPanel(
      timeseries({
        title: "Links in the spool",
        description: "Symlinks the logwatcher maintains, and subtrees it polls because watches ran out.",
        w: 8,
        queries: [
          [`boxscope_logwatcher_links{${INSTANCE}}`, "{{instance}} links"],
          [`boxscope_logwatcher_polling_subtrees{${INSTANCE}}`, "{{instance}} polled subtrees"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Link events",
        description: "Links created and removed per second (new log files, containers removed, rotation).",
        unit: "ops",
        w: 8,
        queries: [[rate("boxscope_logwatcher_link_events_total", "instance, op"), "{{instance}} {{op}}"]],
      }),
    )
    .withPanel(
      timeseries({
        title: "Link latency p50 / p99",
        description: "Time from a log file's creation to its link in the spool.",
        unit: "s",
        w: 8,
        queries: [
          [linkLatency(0.5), "{{instance}} p50"],
          [linkLatency(0.99), "{{instance}} p99"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "logwatcher errors and repairs",
        description: "Errors by reason, and links the periodic reconcile had to repair (missed events).",
        unit: "ops",
        w: 24,
        queries: [
          [rate("boxscope_logwatcher_errors_total", "instance, reason"), "{{instance}} error {{reason}}"],
          [
            rate("boxscope_logwatcher_reconcile_repairs_total", "instance, kind"),
            "{{instance}} repair {{kind}}",
          ],
        ],
      }),
    )
    .withRow(row("shipper: spool → Kafka"))
    .withPanel(
      timeseries({
        title: "Shipped lines and bytes",
        description: "Log lines and bytes sent to Kafka per second.",
        w: 8,
        queries: [
          [rate("boxscope_ship_lines_total"), "{{instance}} lines/s"],
          [rate("boxscope_ship_bytes_total"), "{{instance}} bytes/s"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Shipper lag",
        description: "Bytes written but not yet shipped. Alert: warning above 256 MiB for 10 minutes.",
        unit: "bytes",
        w: 8,
        thresholds: [256 * 1024 * 1024, 1024 * 1024 * 1024],
        queries: [[`boxscope_ship_lag_bytes{${INSTANCE}}`, "{{instance}}"]],
      }),
    )
    .withPanel(
      timeseries({
        title: "Positions file age",
        description:
          "How long the oldest unshipped position has not advanced. Alert: 5 min warning, 30 min critical.",
        unit: "s",
        w: 8,
        thresholds: [300, 1800],
        queries: [[`boxscope_ship_position_age_seconds{${INSTANCE}}`, "{{instance}}"]],
      }),
    )
    .withPanel(
      timeseries({
        title: "Shipper retries and open files",
        description: "Kafka send retries per second, and files the shipper holds open.",
        w: 24,
        queries: [
          [rate("boxscope_ship_retries_total"), "{{instance}} retries/s"],
          [`boxscope_ship_open_files{${INSTANCE}}`, "{{instance}} open files"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Containers whose logs are behind",
        description:
          "Seconds a container's log files have had unread bytes: one writing faster than its share (ship.containerRateBytes) waits in its own files while the others flow. Alert: warning above 300 s for 5 minutes, to the container's team.",
        unit: "s",
        w: 12,
        thresholds: [300, 1800],
        queries: [
          [
            `topk(10, boxscope_ship_container_lag_seconds{${INSTANCE}} > 0)`,
            "{{instance}} {{container}} ({{team}})",
          ],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Throttled containers and flagged stdout records",
        description:
          "Bytes per second read at a container's rate limit, and runtime log records shipped with a flag (an error code: shipped raw; truncated; partial).",
        w: 12,
        queries: [
          [
            rate("boxscope_ship_container_throttled_bytes_total", "instance, container"),
            "{{instance}} {{container}} throttled B/s",
          ],
          [
            rate("boxscope_ship_decode_problems_total", "instance, source, problem"),
            "{{instance}} {{source}} {{problem}}/s",
          ],
        ],
      }),
    )
    .withRow(row("indexer: Kafka → Elasticsearch"))
    .withPanel(
      timeseries({
        title: "Indexed documents",
        description: "Documents written to Elasticsearch per second.",
        unit: "ops",
        w: 8,
        queries: [[rate("boxscope_index_documents_total"), "{{instance}}"]],
      }),
    )
    .withPanel(
      timeseries({
        title: "Consumer lag",
        description: "Kafka messages not yet indexed. Alert: warning above 100k for 15 minutes.",
        w: 8,
        thresholds: [100000, 1000000],
        queries: [[`boxscope_index_consumer_lag{${INSTANCE}}`, "{{instance}}"]],
      }),
    )
    .withPanel(
      timeseries({
        title: "Indexer retries and dead letters",
        description:
          "Bulk retries per second, and documents given up on (dead-letter topic) in the last hour.",
        w: 8,
        queries: [
          [rate("boxscope_index_retries_total"), "{{instance}} retries/s"],
          [`increase(boxscope_index_dead_letters_total{${INSTANCE}}[1h])`, "{{instance}} dead letters (1h)"],
        ],
      }),
    )
    .build();
}

import { Counter, Gauge, type Registry } from "prom-client";

export interface ShipMetrics {
  lines: Counter;
  bytes: Counter;
  retries: Counter;
  connectFailures: Counter<"stage">;
  truncations: Counter<"rotated_copy">;
  truncationUnreadBytes: Counter;
  truncationUnreadLines: Counter;
  truncationUncountedBytes: Counter;
  lagBytes: Gauge;
  unreadUncountedBytes: Gauge;
  positionAge: Gauge;
  positionWriteErrors: Counter;
  openFiles: Gauge;
}

/** The shipper's metrics (docs/metrics.md, "Log pipeline"), registered into the caller's registry. */
export function createShipMetrics(
  registry: Registry,
  sample: {
    lagBytes(): number;
    uncountedBytes(): number;
    positionAgeSeconds(): number;
    openFiles(): number;
  },
): ShipMetrics {
  const registers = [registry];
  return {
    lines: new Counter({
      name: "boxscope_ship_lines_total",
      help: "Log records (lines, or joined multi-line records) acknowledged by Kafka",
      registers,
    }),
    bytes: new Counter({
      name: "boxscope_ship_bytes_total",
      help: "Bytes of log files covered by records acknowledged by Kafka",
      registers,
    }),
    retries: new Counter({
      name: "boxscope_ship_retries_total",
      help: "Batches re-sent after a Kafka error",
      registers,
    }),
    connectFailures: new Counter({
      name: "boxscope_ship_kafka_connect_failures_total",
      help: "Failed attempts to start shipping (each is retried): stage=brokers when no broker answered, topic when the cluster refused to create the topic",
      labelNames: ["stage"],
      registers,
    }),
    truncations: new Counter({
      name: "boxscope_ship_truncations_total",
      help: "Tracked files found truncated or rewritten; rotated_copy=found when the rest was read from the copy beside them, missing when no copy was found",
      labelNames: ["rotated_copy"],
      registers,
    }),
    truncationUnreadBytes: new Counter({
      name: "boxscope_ship_truncation_unread_bytes_total",
      help: "Bytes a truncated file held past the last record handed out, read or counted by the shipper, when no rotated copy was found (lost; their lines are in boxscope_ship_truncation_unread_lines_total)",
      registers,
    }),
    truncationUnreadLines: new Counter({
      name: "boxscope_ship_truncation_unread_lines_total",
      help: "Lines lost with boxscope_ship_truncation_unread_bytes_total (exact: counted before the truncation)",
      registers,
    }),
    truncationUncountedBytes: new Counter({
      name: "boxscope_ship_truncation_uncounted_bytes_total",
      help: "Bytes lost to a truncation that the shipper had seen by size but whose lines it had not counted (or that a rotated copy lacked)",
      registers,
    }),
    unreadUncountedBytes: new Gauge({
      name: "boxscope_ship_unread_uncounted_bytes",
      help: "Bytes seen in tracked files past the read position whose lines are not counted yet (a truncation now would lose them uncounted)",
      registers,
      collect() {
        this.set(sample.uncountedBytes());
      },
    }),
    lagBytes: new Gauge({
      name: "boxscope_ship_lag_bytes",
      help: "Bytes in tracked files not yet acknowledged by Kafka",
      registers,
      collect() {
        this.set(sample.lagBytes());
      },
    }),
    positionAge: new Gauge({
      name: "boxscope_ship_position_age_seconds",
      help: "Seconds since the positions file was last written",
      registers,
      collect() {
        this.set(sample.positionAgeSeconds());
      },
    }),
    positionWriteErrors: new Counter({
      name: "boxscope_ship_position_write_errors_total",
      help: "Failed writes of the positions file (read-only or full disk): until one succeeds, a restart re-reads from the last saved positions",
      registers,
    }),
    openFiles: new Gauge({
      name: "boxscope_ship_open_files",
      help: "Log files the shipper holds open",
      registers,
      collect() {
        this.set(sample.openFiles());
      },
    }),
  };
}

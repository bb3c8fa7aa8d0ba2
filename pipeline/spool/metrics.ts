import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { registerRunningTotal } from "../../common/registry.js";

/** The logwatcher's metrics (names fixed in the shared contract; documented in docs/metrics.md). */
export interface LogwatcherMetrics {
  links: Gauge;
  linkEvents: Counter<"op">;
  errors: Counter<"reason">;
  repairs: Counter<"kind">;
  linkLatency: Histogram;
  pollingSubtrees: Gauge;
}

export function createLogwatcherMetrics(registry: Registry, countLinks: () => number): LogwatcherMetrics {
  return {
    links: new Gauge({
      name: "boxscope_logwatcher_links",
      help: "Symlinks the logwatcher currently keeps in the spool",
      registers: [registry],
      collect() {
        this.set(countLinks());
      },
    }),
    linkEvents: new Counter({
      name: "boxscope_logwatcher_link_events_total",
      help: "Spool links created (op=link) and removed (op=unlink)",
      labelNames: ["op"],
      registers: [registry],
    }),
    errors: new Counter({
      name: "boxscope_logwatcher_errors_total",
      help: "Problems by reason: refused hostile entries, spool name clashes, inotify limits, I/O errors",
      labelNames: ["reason"],
      registers: [registry],
    }),
    repairs: new Counter({
      name: "boxscope_logwatcher_reconcile_repairs_total",
      help: "Spool fixes made by a reconcile pass rather than by a watch event (kind=missing|stale|temp)",
      labelNames: ["kind"],
      registers: [registry],
    }),
    linkLatency: new Histogram({
      name: "boxscope_logwatcher_link_latency_seconds",
      help: "From the watch event for a new log file to its link being in place",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    pollingSubtrees: new Gauge({
      name: "boxscope_logwatcher_polling_subtrees",
      help: "Subtrees watched by polling because inotify watches ran out (fs.inotify.max_user_watches)",
      registers: [registry],
    }),
  };
}

/** What the journal follower counts (pipeline/host-journal/follower.ts). */
export interface JournalCounts {
  starts: number;
  exits: number;
  lines: number;
  rotations: number;
  writeErrors: number;
  dropped: number;
}

/**
 * The host journal follower's series, read from its counters at each scrape: a journalctl that
 * keeps exiting, or writes that fail (a full disk), show here before the host's logs go missing.
 */
export function registerJournalMetrics(registry: Registry, counts: () => JournalCounts): void {
  const series: [string, string, keyof JournalCounts][] = [
    ["boxscope_logwatcher_journal_lines_total", "Journal entries written to journalDir/journal.log", "lines"],
    [
      "boxscope_logwatcher_journal_exits_total",
      "Times journalctl ended on its own (it is started again)",
      "exits",
    ],
    [
      "boxscope_logwatcher_journal_write_errors_total",
      "Failed writes of journal.log (its entries are read again later)",
      "writeErrors",
    ],
    [
      "boxscope_logwatcher_journal_dropped_total",
      "Journal entries longer than the entry bound, dropped",
      "dropped",
    ],
  ];
  for (const [name, help, key] of series) registerRunningTotal(registry, name, help, () => counts()[key]);
}

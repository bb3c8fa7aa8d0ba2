import { Counter, Gauge, Histogram, type Registry } from "prom-client";

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

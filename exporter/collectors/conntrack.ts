import { readFileSync } from "node:fs";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { Collector } from "../collector.js";
import { parseConntrackStat, parseIntFile } from "../proc-parse.js";

const COUNTERS: ReadonlyArray<[column: string, metric: string, help: string]> = [
  [
    "insert_failed",
    "boxscope_conntrack_insert_failed_total",
    "Conntrack inserts that failed (summed over CPUs).",
  ],
  [
    "drop",
    "boxscope_conntrack_drop_total",
    "Packets dropped because conntrack could not track them (table full).",
  ],
  [
    "early_drop",
    "boxscope_conntrack_early_drop_total",
    "Entries evicted early to make room in a full table.",
  ],
  [
    "search_restart",
    "boxscope_conntrack_search_restart_total",
    "Table lookups restarted because of a resize.",
  ],
];

/**
 * Netfilter connection tracking of the exporter's network namespace (the host's when run on the
 * host): entries vs limit and the per-CPU stat counters summed. Without the nf_conntrack module
 * the files are absent: the metrics are absent and one line is logged, the collector stays up.
 */
export function conntrackCollector(logger: Logger, procRoot = "/proc"): Collector {
  let loggedAbsent = false;
  return {
    name: "conntrack",
    metrics: [
      {
        name: "boxscope_conntrack_entries",
        help: "Conntrack table entries (nf_conntrack_count).",
        type: "gauge",
      },
      {
        name: "boxscope_conntrack_entries_limit",
        help: "Conntrack table size limit (nf_conntrack_max).",
        type: "gauge",
      },
      ...COUNTERS.map(([, name, help]) => ({ name, help, type: "counter" as const })),
    ],
    // Synchronous reads of three small /proc files: cheaper than the promise API's threadpool hops.
    collect(sink) {
      let count: string;
      let max: string;
      try {
        count = readFileSync(`${procRoot}/sys/net/netfilter/nf_conntrack_count`, "utf8");
        max = readFileSync(`${procRoot}/sys/net/netfilter/nf_conntrack_max`, "utf8");
      } catch (e) {
        if (errnoCode(e) !== "ENOENT") throw e;
        if (!loggedAbsent) logger.info("nf_conntrack not loaded: conntrack metrics absent until it is");
        loggedAbsent = true;
        return;
      }
      loggedAbsent = false;
      sink.add("boxscope_conntrack_entries", parseIntFile(count, "nf_conntrack_count"));
      sink.add("boxscope_conntrack_entries_limit", parseIntFile(max, "nf_conntrack_max"));
      const stat = parseConntrackStat(readFileSync(`${procRoot}/net/stat/nf_conntrack`, "utf8"));
      for (const [column, name] of COUNTERS) {
        const v = stat.get(column);
        if (v !== undefined) sink.add(name, v);
      }
    },
  };
}

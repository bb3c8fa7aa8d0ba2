import { readdirSync, readFileSync } from "node:fs";
import { USER_HZ } from "../../cgroup/cpu.js";
import { readProcStartTicks } from "../../cgroup/process.js";
import { compileLinearRegex, type LineMatcher } from "../../common/regex.js";
import type { Collector } from "../collector.js";
import { parseBtime } from "../proc-parse.js";

export interface KeyProcessRule {
  readonly name: string;
  readonly pattern: string;
  readonly match: "comm" | "cmdline";
}

interface RuleState {
  readonly rule: KeyProcessRule;
  readonly re: LineMatcher;
  /** Start time (ticks) of the oldest instance when last seen up; undefined before the first sighting. */
  lastStartTicks: number | undefined;
  restarts: number;
}

/**
 * Key daemons (dockerd, containerd, kubelet, the log shipper...): up, instance count, restarts and
 * start time. One pass over /proc per scrape for every rule: comm for all processes, cmdline only
 * when some rule matches on it, stat only for matching processes. A restart is a change of the
 * oldest instance's start time between scrapes (down→up, or a restart quicker than the interval).
 */
export function keyProcessesCollector(rules: readonly KeyProcessRule[], procRoot = "/proc"): Collector {
  const states: RuleState[] = rules.map((rule) => ({
    rule,
    re: compileLinearRegex(rule.pattern, `key process ${rule.name}`),
    lastStartTicks: undefined,
    restarts: 0,
  }));
  const needCmdline = rules.some((r) => r.match === "cmdline");
  const btime = parseBtime(readFileSync(`${procRoot}/stat`, "utf8"));
  const self = String(process.pid);
  const labelNames = ["process"];
  return {
    name: "key_processes",
    metrics: [
      {
        name: "boxscope_process_up",
        help: "1 when at least one instance of the key process runs.",
        type: "gauge",
        labelNames,
      },
      {
        name: "boxscope_process_instances",
        help: "Running instances of the key process.",
        type: "gauge",
        labelNames,
      },
      {
        name: "boxscope_process_restarts_total",
        help: "Times the key process's oldest instance changed (it died and came back) since the exporter started.",
        type: "counter",
        labelNames,
      },
      {
        name: "boxscope_process_start_time_seconds",
        help: "Unix start time of the oldest running instance; absent when down.",
        type: "gauge",
        labelNames,
      },
    ],
    collect(sink) {
      if (states.length === 0) return;
      const matches: number[][] = states.map(() => []);
      for (const pid of readdirSync(procRoot)) {
        const c = pid.charCodeAt(0);
        if (c < 48 || c > 57 || pid === self) continue;
        let comm: string;
        let cmdline = "";
        try {
          comm = readFileSync(`${procRoot}/${pid}/comm`, "utf8").trimEnd();
          if (needCmdline)
            cmdline = readFileSync(`${procRoot}/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trimEnd();
        } catch {
          continue; // exited during the scan
        }
        states.forEach((s, i) => {
          if (s.re.test(s.rule.match === "comm" ? comm : cmdline)) matches[i]?.push(Number(pid));
        });
      }
      states.forEach((s, i) => {
        const labels = { process: s.rule.name };
        const starts = (matches[i] ?? [])
          .map((pid) => readProcStartTicks(pid, procRoot))
          .filter((t): t is number => t !== undefined);
        const oldest = starts.length > 0 ? Math.min(...starts) : undefined;
        if (oldest !== undefined) {
          if (s.lastStartTicks !== undefined && oldest !== s.lastStartTicks) s.restarts++;
          s.lastStartTicks = oldest;
          sink.add("boxscope_process_start_time_seconds", btime + oldest / USER_HZ, labels);
        }
        sink.add("boxscope_process_up", starts.length > 0 ? 1 : 0, labels);
        sink.add("boxscope_process_instances", starts.length, labels);
        sink.add("boxscope_process_restarts_total", s.restarts, labels);
      });
    },
  };
}

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { USER_HZ } from "../../cgroup/cpu.js";
import { readProcStartTicks } from "../../cgroup/process.js";
import type { Logger } from "../../common/logger.js";
import { compileLinearRegex, type LineMatcher } from "../../common/regex.js";
import type { Collector, SampleSink } from "../collector.js";
import type { KeyProcessRule } from "../key-process-rules.js";
import { parseBtime } from "../proc-parse.js";
import { type HealthProbe, type ProbeResult, runProbe } from "../sources/health-probe.js";

export type { KeyProcessRule } from "../key-process-rules.js";

/** Runs one probe; injectable so a unit test can stand in for the network. */
export type ProbeRunner = (probe: HealthProbe) => Promise<ProbeResult>;

interface RuleState {
  readonly rule: KeyProcessRule;
  readonly re: LineMatcher;
  readonly commRe: LineMatcher | undefined;
  /** Reported at all: required, or the host has had it (seen, or its probe socket exists). */
  present: boolean;
  /** Start time (ticks) of the oldest instance when last seen up; undefined before the first sighting. */
  lastStartTicks: number | undefined;
  restarts: number;
  /** Bumped on every down or restart, so a probe of the previous instance does not speak for this one. */
  generation: number;
  probeInFlight: boolean;
  lastProbeAt: number;
  result: ProbeResult | undefined;
  readonly failures: Map<string, number>;
  loggedNoSocket: boolean;
}

/**
 * Key daemons (dockerd, containerd, kubelet, the log shipper...): up, instance count, restarts,
 * start time, and for daemons with a health endpoint whether it answers (a stopped or deadlocked
 * dockerd still runs, and is up, but no longer answers `/_ping`).
 *
 * One pass over /proc per scrape for every rule: comm for all processes, cmdline only for
 * processes a cmdline rule's comm filter lets through, stat only for matching processes. A restart
 * is a change of the oldest instance's start time between scrapes (down→up, or a restart quicker
 * than the interval). Probes never hold up a scrape: a scrape starts one (at most one in flight per
 * rule, at most one per `intervalSeconds`) and publishes the last finished result.
 */
export function keyProcessesCollector(
  rules: readonly KeyProcessRule[],
  logger: Logger,
  procRoot = "/proc",
  probe: ProbeRunner = runProbe,
): Collector {
  const states: RuleState[] = rules.map((rule) => ({
    rule,
    re: compileLinearRegex(rule.pattern, `key process ${rule.name}`),
    commRe:
      rule.comm === undefined ? undefined : compileLinearRegex(rule.comm, `key process ${rule.name} comm`),
    present: rule.required,
    lastStartTicks: undefined,
    restarts: 0,
    generation: 0,
    probeInFlight: false,
    lastProbeAt: Number.NEGATIVE_INFINITY,
    result: undefined,
    failures: new Map(),
    loggedNoSocket: false,
  }));
  const cmdlineRules = states.filter((s) => s.rule.match === "cmdline");
  const btime = parseBtime(readFileSync(`${procRoot}/stat`, "utf8"));
  const self = String(process.pid);
  const labelNames = ["process"];

  const startProbe = (s: RuleState, p: HealthProbe, now: number): void => {
    s.probeInFlight = true;
    s.lastProbeAt = now;
    const generation = s.generation;
    void probe(p).then((r) => {
      if (s.generation !== generation) return; // the instance it probed is gone
      s.probeInFlight = false;
      s.result = r;
      if (r.healthy) return;
      s.failures.set(r.reason, (s.failures.get(r.reason) ?? 0) + 1);
      if (r.reason === "no_socket" && !s.loggedNoSocket) {
        s.loggedNoSocket = true;
        logger.warn(
          { process: s.rule.name, socket: p.socket },
          "key process runs but its probe socket is not here: its health is unknown (mount the socket, set the probe's socket, or probe: false)",
        );
      }
    });
  };

  const publishProbe = (s: RuleState, up: boolean, sink: SampleSink): void => {
    const p = s.rule.probe;
    if (!p) return;
    const labels = { process: s.rule.name };
    for (const [reason, n] of s.failures) {
      sink.add("boxscope_process_probe_failures_total", n, { process: s.rule.name, reason });
    }
    if (!up) return;
    const now = performance.now();
    if (!s.probeInFlight && now - s.lastProbeAt >= p.intervalSeconds * 1000) startProbe(s, p, now);
    // A socket the exporter cannot see (a container without it mounted) gives no verdict: hung
    // would be a false page on every such host. It is counted as a failure all the same.
    if (s.result && (s.result.healthy || s.result.reason !== "no_socket")) {
      sink.add("boxscope_process_healthy", s.result.healthy ? 1 : 0, labels);
      sink.add("boxscope_process_probe_duration_seconds", s.result.seconds, labels);
    }
  };

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
      {
        name: "boxscope_process_healthy",
        help: "1 when the running key process's health probe last answered healthy, 0 when it failed or timed out (hung); absent without a probe, while down, or when its socket is not there.",
        type: "gauge",
        labelNames,
      },
      {
        name: "boxscope_process_probe_duration_seconds",
        help: "How long the key process's last health probe took (the timeout when it timed out).",
        type: "gauge",
        labelNames,
      },
      {
        name: "boxscope_process_probe_failures_total",
        help: "Failed health probes of the key process since the exporter started, by reason (timeout, no_socket, refused, status, error).",
        type: "counter",
        labelNames: ["process", "reason"],
      },
    ],
    collect(sink) {
      if (states.length === 0) return;
      const matches: number[][] = states.map(() => []);
      for (const pid of readdirSync(procRoot)) {
        const c = pid.charCodeAt(0);
        if (c < 48 || c > 57 || pid === self) continue;
        let comm: string;
        let cmdline: string | undefined;
        try {
          comm = readFileSync(`${procRoot}/${pid}/comm`, "utf8").trimEnd();
          if (cmdlineRules.some((s) => s.commRe === undefined || s.commRe.test(comm)))
            cmdline = readFileSync(`${procRoot}/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trimEnd();
        } catch {
          continue; // exited during the scan
        }
        states.forEach((s, i) => {
          if (s.rule.match === "comm") {
            if (s.re.test(comm)) matches[i]?.push(Number(pid));
          } else if (
            cmdline !== undefined &&
            (s.commRe === undefined || s.commRe.test(comm)) &&
            s.re.test(cmdline)
          ) {
            matches[i]?.push(Number(pid));
          }
        });
      }
      states.forEach((s, i) => {
        const labels = { process: s.rule.name };
        const starts = (matches[i] ?? [])
          .map((pid) => readProcStartTicks(pid, procRoot))
          .filter((t): t is number => t !== undefined);
        const oldest = starts.length > 0 ? Math.min(...starts) : undefined;
        if (!s.present) {
          const socket = s.rule.probe?.socket;
          s.present = oldest !== undefined || (socket !== undefined && existsSync(socket));
          if (!s.present) return;
        }
        if (oldest !== undefined) {
          if (s.lastStartTicks !== undefined && oldest !== s.lastStartTicks) {
            s.restarts++;
            forgetProbe(s);
          }
          s.lastStartTicks = oldest;
          sink.add("boxscope_process_start_time_seconds", btime + oldest / USER_HZ, labels);
        } else if (s.result !== undefined || s.probeInFlight) {
          forgetProbe(s);
        }
        sink.add("boxscope_process_up", starts.length > 0 ? 1 : 0, labels);
        sink.add("boxscope_process_instances", starts.length, labels);
        sink.add("boxscope_process_restarts_total", s.restarts, labels);
        publishProbe(s, oldest !== undefined, sink);
      });
    },
  };
}

/** A new instance (or none) gets probed afresh, at once. */
function forgetProbe(s: RuleState): void {
  s.generation++;
  s.result = undefined;
  s.probeInFlight = false;
  s.lastProbeAt = Number.NEGATIVE_INFINITY;
}

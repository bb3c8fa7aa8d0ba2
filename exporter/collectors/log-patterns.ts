import type { ContainerLabels } from "../../common/container-labels.js";
import { HOSTILE_REFUSALS } from "../../common/files/eligibility.js";
import type { Logger } from "../../common/logger.js";
import { LinearRegexSet } from "../../common/regex.js";
import type { Collector, Labels } from "../collector.js";
import { NO_CONTAINER } from "../log-owner.js";
import type { KmsgSource } from "../sources/kmsg.js";
import { FileTailer } from "../sources/tail.js";

export const LOG_SEVERITIES = ["info", "warning", "critical"] as const;
export type LogSeverity = (typeof LOG_SEVERITIES)[number];

/** A log rule: lines matching `regex` (RE2) count for `name`; `threshold` matches in 5 minutes alert at `severity`. */
export interface LogRule {
  readonly name: string;
  readonly regex: string;
  readonly severity: LogSeverity;
  readonly threshold: number;
}

export interface FileLogRule extends LogRule {
  readonly glob: string;
}

/**
 * Kernel log patterns every host should alert on (exporter.kernelPatterns), each on its first
 * line: one Oops or I/O error is already a broken host or disk. Messages as the kernel prints
 * them (mainline printk formats). `kernel_bug` leaves out "BUG: soft lockup" (older kernels print
 * it without the "watchdog: " prefix), which `kernel_lockup` counts: one line, one rule.
 */
export const BUILTIN_KERNEL_RULES: ReadonlyArray<LogRule> = [
  { name: "kernel_bug", regex: "kernel BUG at|^BUG: (?:[^s]|s[^o])", severity: "critical", threshold: 1 },
  { name: "kernel_oops", regex: "^Oops: |^general protection fault", severity: "critical", threshold: 1 },
  { name: "kernel_panic", regex: "Kernel panic - not syncing", severity: "critical", threshold: 1 },
  {
    name: "kernel_lockup",
    regex: "soft lockup - CPU#\\d+ stuck|[Hh]ard LOCKUP",
    severity: "critical",
    threshold: 1,
  },
  {
    name: "kernel_hung_task",
    regex: "blocked for more than \\d+ seconds",
    severity: "warning",
    threshold: 1,
  },
  {
    name: "kernel_io_error",
    regex: "I/O error, dev |Buffer I/O error on dev",
    severity: "warning",
    threshold: 1,
  },
  {
    name: "kernel_ext4_error",
    regex: "EXT4-fs error|EXT4-fs \\([^)]*\\): Remounting filesystem read-only",
    severity: "critical",
    threshold: 1,
  },
  {
    name: "kernel_xfs_error",
    regex: "XFS \\([^)]*\\): .*(?:[Cc]orruption|[Ss]hut(?:ting)? down|I/O [Ee]rror)",
    severity: "critical",
    threshold: 1,
  },
  // Host-wide OOM only: a memory cgroup's kill (CONSTRAINT_MEMCG, "Memory cgroup out of memory")
  // is its container's BoxscopeContainerOOMKilled, told to its team; this one is the host's.
  {
    name: "kernel_oom_kill",
    regex: "^Out of memory: Kill|oom-kill:constraint=CONSTRAINT_(?:NONE|CPUSET|MEMORY_POLICY)",
    severity: "warning",
    threshold: 1,
  },
  {
    name: "kernel_conntrack_table_full",
    regex: "nf_conntrack: table full",
    severity: "warning",
    threshold: 1,
  },
];

/** The built-in kernel rules with `extra` added; an extra rule named like a built-in one replaces it. */
export function kernelRuleSet(builtins: boolean, extra: ReadonlyArray<LogRule>): LogRule[] {
  const names = new Set(extra.map((r) => r.name));
  return [...(builtins ? BUILTIN_KERNEL_RULES.filter((r) => !names.has(r.name)) : []), ...extra];
}

/** Series of a container that had no match for this long are dropped (bounded: rules × containers). */
export const CONTAINER_SERIES_TTL_MS = 60 * 60 * 1000;

type Source = "file" | "kmsg";

interface Series {
  readonly labels: Labels;
  count: number;
  lastAt: number;
  /** False until one scrape has shown it at 0 (see MatchCounts). */
  shown: boolean;
  /** The series without a container: always present. */
  readonly permanent: boolean;
}

/**
 * Match counters by (rule, owning container). Every rule has a series without container labels
 * from the start; a container's series appears with its first match. Prometheus' `increase()`
 * needs a sample before the first match, so a new series is published at 0 for one scrape and its
 * count from the next one on: the alert fires on the very first line of a container that never
 * matched before, one scrape later. Pure (time is passed in).
 */
export class MatchCounts {
  private readonly series = new Map<string, Series>();

  constructor(rules: ReadonlyArray<{ rule: LogRule; source: Source }>) {
    for (const { rule, source } of rules) this.entry(rule, source, NO_CONTAINER, 0, true);
  }

  add(rule: LogRule, source: Source, owner: ContainerLabels, now: number): void {
    const s = this.entry(rule, source, owner, now, false);
    s.count++;
    s.lastAt = now;
  }

  /** This scrape's samples; drops container series idle for CONTAINER_SERIES_TTL_MS. */
  collect(now: number): Array<{ labels: Labels; value: number }> {
    const out: Array<{ labels: Labels; value: number }> = [];
    for (const [key, s] of this.series) {
      if (!s.permanent && s.shown && now - s.lastAt > CONTAINER_SERIES_TTL_MS) {
        this.series.delete(key);
        continue;
      }
      out.push({ labels: s.labels, value: s.shown ? s.count : 0 });
      s.shown = true;
    }
    return out;
  }

  get size(): number {
    return this.series.size;
  }

  private entry(
    rule: LogRule,
    source: Source,
    owner: ContainerLabels,
    now: number,
    permanent: boolean,
  ): Series {
    const key = `${source}\0${rule.name}\0${owner.container_id}\0${owner.container_name}\0${owner.team}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { rule: rule.name, source, severity: rule.severity, ...owner },
        count: 0,
        lastAt: now,
        shown: false,
        permanent,
      };
      this.series.set(key, s);
    }
    return s;
  }
}

export interface LogPatternsOptions {
  readonly fileRules: ReadonlyArray<FileLogRule>;
  readonly kernelRules: ReadonlyArray<LogRule>;
  readonly pollMs: number;
  /** Files of a rule whose glob lies in it must stay inside it (see sources/glob-root.ts). */
  readonly logRoot: string;
  /** The container owning a log file (LogDirOwners.ownerOf); NO_CONTAINER outside the log root. */
  readonly ownerOf: (path: string) => ContainerLabels;
  /** Called at each scrape: lets the owner lookup forget stale directories. */
  readonly onCollect?: () => void;
}

/**
 * Counts lines matching configured rules: `source="file"` from tailed log files, labelled with
 * the container whose log directory holds the file; `source="kmsg"` from the shared kernel log
 * reader, without container. Every rule's series exists from start (at 0), so `increase()` sees
 * the first match; each rule also publishes its alert threshold.
 */
export function logPatternsCollector(
  opts: LogPatternsOptions,
  kmsg: KmsgSource | undefined,
  logger: Logger,
): Collector {
  const fileRules = opts.fileRules;
  const kernelRules = kmsg ? opts.kernelRules : [];
  const counts = new MatchCounts([
    ...fileRules.map((rule) => ({ rule, source: "file" as const })),
    ...kernelRules.map((rule) => ({ rule, source: "kmsg" as const })),
  ]);
  const kernelSet = new LinearRegexSet(
    kernelRules.map((r) => r.regex),
    "kernel rule",
  );
  const globs = [...new Set(fileRules.map((r) => r.glob))];
  // One RE2 set per glob: a line costs one pass whatever the number of rules on its files.
  const byGlob = globs.map((g) => {
    const rules = fileRules.filter((r) => r.glob === g);
    return {
      rules,
      set: new LinearRegexSet(
        rules.map((r) => r.regex),
        `log rules for ${g}`,
      ),
    };
  });
  const tailer =
    globs.length > 0
      ? new FileTailer(
          globs,
          opts.logRoot,
          opts.pollMs,
          (gi, line, path) => {
            const g = byGlob[gi];
            if (!g) return;
            const hits = g.set.matching(line);
            if (hits.length === 0) return;
            const owner = opts.ownerOf(path);
            const now = Date.now();
            for (const i of hits) {
              const r = g.rules[i];
              if (r) counts.add(r, "file", owner, now);
            }
          },
          logger,
        )
      : undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: "log_patterns",
    metrics: [
      {
        name: "boxscope_log_pattern_matches_total",
        help: 'Lines matching a log rule since the exporter started; source="file" (tailed files, labelled with the container owning the file\'s log directory) or "kmsg" (kernel log); severity is the rule\'s.',
        type: "counter",
        labelNames: ["rule", "source", "severity", "container_id", "container_name", "team"],
      },
      {
        name: "boxscope_log_pattern_threshold",
        help: "Matches within 5 minutes at which a log rule alerts (BoxscopeLogPatternMatched) at its severity; 1 = the first line.",
        type: "gauge",
        labelNames: ["rule", "source", "severity"],
      },
      {
        name: "boxscope_log_files_refused_total",
        help: "Paths matching a log rule's glob that were not read because they were planted: a symlink, not a regular file, a hard link, or outside the rule's root. Each path counts once while it stays.",
        type: "counter",
        labelNames: ["reason"],
      },
    ],
    async start() {
      await tailer?.start();
      if (kmsg && kernelRules.length > 0) {
        unsubscribe = kmsg.subscribe((rec) => {
          const now = Date.now();
          for (const i of kernelSet.matching(rec.message)) {
            const r = kernelRules[i];
            if (r) counts.add(r, "kmsg", NO_CONTAINER, now);
          }
        });
      }
    },
    async stop() {
      unsubscribe?.();
      await tailer?.stop();
    },
    collect(sink) {
      opts.onCollect?.();
      for (const s of counts.collect(Date.now()))
        sink.add("boxscope_log_pattern_matches_total", s.value, s.labels);
      for (const [source, rules] of [
        ["file", fileRules],
        ["kmsg", kernelRules],
      ] as const)
        for (const r of rules)
          sink.add("boxscope_log_pattern_threshold", r.threshold, {
            rule: r.name,
            source,
            severity: r.severity,
          });
      if (tailer)
        for (const reason of HOSTILE_REFUSALS)
          sink.add("boxscope_log_files_refused_total", tailer.refusals.get(reason) ?? 0, { reason });
    },
  };
}

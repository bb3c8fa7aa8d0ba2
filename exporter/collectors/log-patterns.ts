import { HOSTILE_REFUSALS } from "../../common/files/eligibility.js";
import type { Logger } from "../../common/logger.js";
import { LinearRegexSet } from "../../common/regex.js";
import type { Collector } from "../collector.js";
import type { KmsgSource } from "../sources/kmsg.js";
import { FileTailer } from "../sources/tail.js";

/** Kernel log patterns every host should alert on (exporter.kernelPatterns). */
export const BUILTIN_KERNEL_RULES: ReadonlyArray<{ name: string; regex: string }> = [
  { name: "kernel_oom_kill", regex: "oom-kill:|Out of memory: Kill" },
  { name: "kernel_conntrack_table_full", regex: "nf_conntrack: table full" },
  { name: "kernel_hung_task", regex: "blocked for more than \\d+ seconds" },
  { name: "kernel_bug", regex: "kernel BUG at|^BUG: " },
];

export interface LogPatternsOptions {
  readonly fileRules: ReadonlyArray<{ name: string; glob: string; regex: string }>;
  readonly kernelRules: ReadonlyArray<{ name: string; regex: string }>;
  readonly pollMs: number;
  /** Files of a rule whose glob lies in it must stay inside it (see sources/glob-root.ts). */
  readonly logRoot: string;
}

/**
 * Counts lines matching configured rules: `source="file"` from tailed log files, `source="kmsg"`
 * from the shared kernel log reader. Every rule's series exists from start (at 0), so
 * `increase()` sees the first match.
 */
export function logPatternsCollector(
  opts: LogPatternsOptions,
  kmsg: KmsgSource | undefined,
  logger: Logger,
): Collector {
  const fileRules = opts.fileRules.map((r) => ({ ...r, count: 0 }));
  const kernelRules = kmsg ? opts.kernelRules.map((r) => ({ ...r, count: 0 })) : [];
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
          (gi, line) => {
            const g = byGlob[gi];
            if (!g) return;
            for (const i of g.set.matching(line)) {
              const r = g.rules[i];
              if (r) r.count++;
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
        help: 'Lines matching a log rule since the exporter started; source="file" (tailed files) or "kmsg" (kernel log).',
        type: "counter",
        labelNames: ["rule", "source"],
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
          for (const i of kernelSet.matching(rec.message)) {
            const r = kernelRules[i];
            if (r) r.count++;
          }
        });
      }
    },
    async stop() {
      unsubscribe?.();
      await tailer?.stop();
    },
    collect(sink) {
      for (const r of fileRules)
        sink.add("boxscope_log_pattern_matches_total", r.count, { rule: r.name, source: "file" });
      for (const r of kernelRules)
        sink.add("boxscope_log_pattern_matches_total", r.count, { rule: r.name, source: "kmsg" });
      if (tailer)
        for (const reason of HOSTILE_REFUSALS)
          sink.add("boxscope_log_files_refused_total", tailer.refusals.get(reason) ?? 0, { reason });
    },
  };
}

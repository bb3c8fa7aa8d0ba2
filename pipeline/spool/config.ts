import { z } from "zod";
import { logTreeFields } from "../sources.js";

/** The `logwatcher:` section of boxscope.yaml; defaults are the embedded defaults. */
export const logwatcherConfigSchema = z.strictObject({
  /** Host log directory: one subdirectory per container, log files at any depth below it. */
  logRoot: z.string().min(1).default("/app/log"),
  /** Flat directory of symlinks the shipper reads. Must not be inside logRoot. */
  spool: z.string().min(1).default("/run/boxscope/spool"),
  /** Globs; a pattern without `/` matches the file name, one with `/` the path below logRoot. */
  include: z.array(z.string().min(1)).min(1).default(["*.log"]),
  exclude: z.array(z.string().min(1)).default(["*.gz"]),
  /** Full walk of the tree against the spool: at start, then every this many seconds. */
  reconcileIntervalSeconds: z.number().positive().default(60),
  /** Poll the whole tree instead of inotify (network filesystems); ENOSPC falls back per subtree. */
  usePolling: z.boolean().default(false),
  pollingIntervalMs: z.number().int().positive().default(1000),
  /** The trees beside the log root: Docker's and the pods' stdout/stderr logs, the host's (sources.ts). */
  ...logTreeFields,
  /**
   * With `hostLogs: journal`: read the journal files in this directory (a container given the
   * host's /var/log/journal) instead of the system journal.
   */
  journalDirectory: z.string().min(1).optional(),
  /** With `hostLogs: journal`, the first time (nothing written yet): new entries only, or the whole journal. */
  journalStartAt: z.enum(["end", "beginning"]).default("end"),
});

export type LogwatcherConfig = z.infer<typeof logwatcherConfigSchema>;

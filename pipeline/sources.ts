import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { JOURNAL_FILE_NAME } from "./host-journal/output-file.js";

/**
 * The log trees the pipeline reads, beside the host log root that containers write files into:
 * - `docker`: Docker's json-file driver, `<dockerLogRoot>/<id>/<id>-json.log` (a container's stdout
 *   and stderr, one JSON object per line);
 * - `pods`: Kubernetes CRI logs, `<podLogRoot>/<namespace>_<pod>_<uid>/<container>/<restart>.log`
 *   (`<time> <stream> <P|F> <text>` per line);
 * - `host`: the host's own logs, from the systemd journal (the default system log of Debian 12 and
 *   later: rsyslog is no longer installed by default) turned into a file of JSON lines by the
 *   logwatcher, or syslog files written by rsyslog.
 * The logwatcher keeps one spool per tree (the app tree's at the spool's top, the others in a
 * subdirectory named after the kind); the shipper reads each with the tree's format and confines
 * every open to the tree's root.
 */

export type SourceKind = "app" | "docker" | "pods" | "host";

/** How a file's lines are read: as they are, or decoded from a runtime's format. */
export type LogFormat = "plain" | "docker-json" | "cri" | "journal-json";

export interface LogTree {
  kind: SourceKind;
  /** The directory the files lie in (opens are confined to it). */
  root: string;
  /** Where the logwatcher links its files. */
  spool: string;
  include: string[];
  exclude: string[];
  format: LogFormat;
}

const mode = z.enum(["auto", "on", "off"]);

/** Settings of the trees beside the log root, in both the `logwatcher` and the `ship` section. */
export const logTreeFields = {
  /** Docker json-file logs: `auto` reads them when `dockerLogRoot` exists at start. */
  dockerLogs: mode.default("auto"),
  dockerLogRoot: z.string().min(1).default("/var/lib/docker/containers"),
  /** Kubernetes CRI pod logs: `auto` reads them when `podLogRoot` exists at start. */
  podLogs: mode.default("auto"),
  podLogRoot: z.string().min(1).default("/var/log/pods"),
  /**
   * The host's logs, into the same topic with `source: "host"`: `journal` (the systemd journal,
   * through `journalctl`), `files` (`hostLogFiles` under `hostLogRoot`, e.g. rsyslog's), or `off`.
   */
  hostLogs: z.enum(["off", "journal", "files"]).default("off"),
  hostLogRoot: z.string().min(1).default("/var/log"),
  /** With `hostLogs: files`: globs below `hostLogRoot` (as `include`). */
  hostLogFiles: z
    .array(z.string().min(1))
    .min(1)
    .default(["syslog", "messages", "kern.log", "auth.log", "daemon.log"]),
  /** With `hostLogs: journal`: where the logwatcher writes the journal as JSON lines (the shipper reads it there). */
  journalDir: z.string().min(1).default("/var/log/boxscope-journal"),
};

export type LogTreeSettings = {
  [K in keyof typeof logTreeFields]: z.infer<(typeof logTreeFields)[K]>;
};

/** The spool subdirectory of a tree beside the log root (never a link name: see naming.ts). */
export const SOURCE_SPOOL_DIRS = ["docker", "pods", "host"] as const;

/**
 * The trees to read: the app tree first, then each other one that is on (or `auto` and present).
 * `exists` is injectable for tests.
 */
export function logTrees(
  app: { logRoot: string; spool: string; include: string[]; exclude: string[] },
  s: LogTreeSettings,
  exists: (path: string) => boolean = existsSync,
): LogTree[] {
  const trees: LogTree[] = [
    {
      kind: "app",
      root: app.logRoot,
      spool: app.spool,
      include: app.include,
      exclude: app.exclude,
      format: "plain",
    },
  ];
  const wanted = (m: "auto" | "on" | "off", root: string) => m === "on" || (m === "auto" && exists(root));
  if (wanted(s.dockerLogs, s.dockerLogRoot))
    trees.push({
      kind: "docker",
      root: s.dockerLogRoot,
      spool: join(app.spool, "docker"),
      include: ["*-json.log"],
      exclude: [],
      format: "docker-json",
    });
  if (wanted(s.podLogs, s.podLogRoot))
    trees.push({
      kind: "pods",
      root: s.podLogRoot,
      spool: join(app.spool, "pods"),
      // Only the live file: kubelet's rotated copies (`0.log.<time>`, `.gz`) are followed by inode.
      include: ["*.log"],
      exclude: [],
      format: "cri",
    });
  if (s.hostLogs === "journal")
    trees.push({
      kind: "host",
      root: s.journalDir,
      spool: join(app.spool, "host"),
      include: [JOURNAL_FILE_NAME],
      exclude: [],
      format: "journal-json",
    });
  if (s.hostLogs === "files")
    trees.push({
      kind: "host",
      root: s.hostLogRoot,
      spool: join(app.spool, "host"),
      include: s.hostLogFiles,
      exclude: ["*.gz"],
      format: "plain",
    });
  return trees;
}

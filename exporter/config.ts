import { accessSync, constants } from "node:fs";
import { z } from "zod";
import { type ConfigSources, loadConfig } from "../common/config.js";
import { checkTeamMapping, teamSourcesSchema } from "../common/container-labels.js";
import { UsageError } from "../common/errors.js";
import { DEFAULT_LISTEN, parseListen } from "../common/metrics/listen.js";
import { compileLinearRegex } from "../common/regex.js";
import { LOG_SEVERITIES } from "./collectors/log-patterns.js";
import { resolveKeyProcesses } from "./key-process-rules.js";

const regex = z.string().min(1);
/** A rule or process name, used as a label value. */
const shortName = z.string().regex(/^[a-zA-Z0-9_.:-]+$/, "letters, digits, _ . : - only");
/** Who hears of a rule's matches: critical pages, warning queues, info routes nowhere (docs/alerts.md). */
const severity = z.enum(LOG_SEVERITIES);
/** Matches within 5 minutes at which the rule alerts; 1 = on the first line. */
const threshold = z.number().int().min(1).max(1_000_000).default(1);

const probeTimings = {
  /** Seconds a probe may take; a daemon that accepts the connection but does not answer in time is hung. */
  timeoutSeconds: z.number().positive().max(60).optional(),
  /** A probe runs at most this often, started by a scrape and published by the next (never awaited). */
  intervalSeconds: z.number().positive().max(3600).optional(),
};

/** A health probe as written in config; merged over a built-in rule's probe, then checked whole. */
const probeSchema = z.strictObject({
  kind: z.enum(["http", "grpc"]).optional(),
  /** http: the URL to GET (2xx = healthy); with `socket`, its host is only the Host header. */
  url: z.string().min(1).optional(),
  /** Unix socket the request goes over (http: optional; grpc: required). */
  socket: z.string().min(1).optional(),
  /** grpc: the service asked about ("" = the server as a whole). */
  service: z.string().optional(),
  ...probeTimings,
});

const keyProcessSchema = z.strictObject({
  name: shortName,
  /** RE2 on comm or cmdline; required unless the name is a built-in's. */
  pattern: regex.optional(),
  match: z.enum(["comm", "cmdline"]).optional(),
  /** With match: cmdline, only processes whose comm matches this (RE2) have their cmdline read. */
  comm: regex.optional(),
  /** true: reported down from the start; false: watched once the host has it (seen, or its probe socket exists). */
  required: z.boolean().optional(),
  /** The process's own health endpoint; false = none. */
  probe: z.union([z.literal(false), probeSchema]).optional(),
});

export type KeyProcessConfig = z.infer<typeof keyProcessSchema>;

/** The `exporter` section of boxscope.yaml; every key also has an env var (BOXSCOPE_EXPORTER_*). */
export const exporterSchema = z.strictObject({
  /** HOST:PORT; loopback by default. */
  listen: z.string().default(DEFAULT_LISTEN),
  /** The container log root whose partition is watched (vivo's /app/log). */
  logRoot: z.string().default("/app/log"),
  /** Docker's data root: containers/<id>/config.v2.json gives names and labels. */
  dockerRoot: z.string().default("/var/lib/docker"),
  /**
   * The built-in key processes (BUILTIN_KEY_PROCESSES: container runtimes, the kubelet, boxscope's
   * own separately run parts), each watched once the host has it. false = only `keyProcesses`.
   */
  builtinKeyProcesses: z.boolean().default(true),
  /**
   * More key processes, and changes to built-in ones: a rule named like a built-in one replaces
   * the fields it sets (`probe: false` turns that probe off). Resolved by resolveKeyProcesses().
   */
  keyProcesses: z.array(keyProcessSchema).default([]),
  /**
   * Log files to scan: each new line matching `regex` (RE2) in a file matching `glob` counts for
   * `name`, labelled with the container owning the file's log directory; `threshold` matches in
   * 5 minutes alert at `severity`.
   */
  logRules: z
    .array(
      z.strictObject({
        name: shortName,
        glob: z.string().min(1),
        regex: regex,
        severity: severity.default("warning"),
        threshold,
      }),
    )
    .default([]),
  /** Built-in kernel log patterns (BUG, Oops, panic, lockups, hung task, I/O and filesystem errors, OOM, conntrack). */
  kernelPatterns: z.boolean().default(true),
  /** Extra kernel log rules: `regex` (RE2) on each /dev/kmsg message counts for `name`; a built-in's name replaces it. */
  kernelRules: z
    .array(
      z.strictObject({
        name: shortName,
        regex: regex,
        severity: severity.default("warning"),
        threshold,
      }),
    )
    .default([]),
  /** Read /dev/kmsg (OOM attribution, kernel patterns). Only one reader per host should. */
  kmsg: z.boolean().default(true),
  kmsgPath: z.string().default("/dev/kmsg"),
  /** Where the owning team comes from, first match wins: docker label, mapping file. */
  team: teamSourcesSchema,
  /** How much page cache the strict memory view counts as used: active_file, or a percent of cache. */
  cacheAsUsed: z
    .strictObject({
      mode: z.enum(["active_file", "percent"]).default("active_file"),
      percent: z.number().min(0).max(100).default(50),
    })
    .default({ mode: "active_file", percent: 50 }),
  /** How often log files are polled for new lines, ms. */
  logPollMs: z.number().int().min(50).max(60000).default(1000),
  /** How often /dev/kmsg is drained, ms (OOM detection latency). */
  kmsgPollMs: z.number().int().min(20).max(2000).default(250),
  /**
   * Seconds between full walks of the cgroup tree; in between, only directories that held
   * containers are re-read (a container under a brand-new parent, e.g. a new pod, shows up this late).
   */
  fullWalkSeconds: z.number().min(0).max(3600).default(10),
  /**
   * How old the collection a scrape serves may be, ms. The exporter collects shortly before each
   * scraper's next expected scrape and serves that collection when it began at most this long ago;
   * otherwise the scrape waits for a collection of its own. 0 = collect at every scrape.
   */
  collectMaxAgeMs: z.number().int().min(0).max(60000).default(1000),
  /** Only container cgroups under this cgroup path prefix are reported ("" = all). */
  cgroupPrefix: z.string().default(""),
});

export type ExporterConfig = z.infer<typeof exporterSchema>;

/** Defaults only (for `boxscope up` and tests). */
export function defaultExporterConfig(): ExporterConfig {
  return exporterSchema.parse({});
}

/**
 * Loads and validates the section: beyond types, regexes compile and named files are readable.
 * `requireKmsg: false` (for `boxscope up` on embedded defaults, possibly not root) skips the
 * /dev/kmsg check; startExporter then runs without the kernel-log sources and logs why.
 */
export function loadExporterConfig(
  sources: ConfigSources,
  opts: { requireKmsg?: boolean } = {},
): ExporterConfig {
  return validateExporterConfig(loadConfig("exporter", exporterSchema, sources), opts);
}

export function validateExporterConfig(
  cfg: ExporterConfig,
  opts: { requireKmsg?: boolean } = {},
): ExporterConfig {
  parseListen(cfg.listen, "config exporter.listen");
  resolveKeyProcesses(cfg);
  cfg.logRules.forEach((r, i) => {
    compileLinearRegex(r.regex, `config exporter.logRules.${i}.regex`);
  });
  cfg.kernelRules.forEach((r, i) => {
    compileLinearRegex(r.regex, `config exporter.kernelRules.${i}.regex`);
  });
  unique([...cfg.logRules.map((r) => r.name), ...cfg.kernelRules.map((r) => r.name)], "logRules/kernelRules");
  checkTeamMapping(cfg.team.mappingFile, "config exporter.team.mappingFile");
  if (cfg.kmsg && opts.requireKmsg !== false) {
    try {
      accessSync(cfg.kmsgPath, constants.R_OK);
    } catch (e) {
      throw new UsageError(
        "BXS_CONFIG_FILE_UNREADABLE",
        `config exporter.kmsgPath: cannot read ${cfg.kmsgPath} (${(e as NodeJS.ErrnoException).code ?? e}); run as root or set kmsg: false`,
      );
    }
  }
  return cfg;
}

function unique(names: string[], key: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      throw new UsageError("BXS_CONFIG_INVALID", `config exporter.${key}: duplicate name "${n}"`);
    seen.add(n);
  }
}

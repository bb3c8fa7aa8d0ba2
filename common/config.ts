import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { z } from "zod";
import { errnoCode, UsageError } from "./errors.js";

const requireCjs = createRequire(import.meta.url);

/**
 * yaml (hundreds of CommonJS modules, a visible part of start-up) loads on the first config file or
 * BOXSCOPE_* variable to parse, which most runs of `boxscope ship` have none of; require keeps
 * loadConfig synchronous.
 */
function parseYaml(text: string): unknown {
  return (requireCjs("yaml") as typeof import("yaml")).parse(text);
}

/**
 * boxscope.yaml has one top-level section per command (`shim`, `exporter`, `logwatcher`, `ship`,
 * `index`, ...). Each part owns the zod schema of its section (with defaults = the embedded
 * defaults). Precedence: flag > env (`BOXSCOPE_<SECTION>_<KEY>`) > file > default.
 */
export interface ConfigSources {
  /** Path given with --config; absent means embedded defaults only. */
  configPath?: string | undefined;
  /** Values from command-line flags, keyed like the schema; undefined entries are ignored. */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig<S extends z.ZodObject>(
  section: string,
  schema: S,
  sources: ConfigSources = {},
): z.infer<S> {
  const fromFile = sources.configPath ? readSection(sources.configPath, section) : {};
  const fromEnv = readEnv(section, Object.keys(schema.shape), sources.env ?? process.env);
  const fromFlags = Object.fromEntries(
    Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined),
  );
  const merged = { ...fromFile, ...fromEnv, ...fromFlags };
  const parsed = schema.safeParse(merged);
  if (!parsed.success)
    throw new UsageError("BXS_CONFIG_INVALID", formatIssue(section, parsed.error.issues[0]));
  return parsed.data;
}

function readSection(path: string, section: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(
      "BXS_CONFIG_FILE_UNREADABLE",
      `config file ${path}: cannot read (${errnoCode(e) ?? String(e)})`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UsageError(
      "BXS_CONFIG_FILE_INVALID",
      `config file ${path}: invalid YAML: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new UsageError(
      "BXS_CONFIG_FILE_INVALID",
      `config file ${path}: expected a mapping of sections at the top level`,
    );
  }
  const unknown = Object.keys(doc).filter((k) => !KNOWN_SECTIONS.has(k));
  if (unknown.length > 0) {
    throw new UsageError(
      "BXS_CONFIG_FILE_INVALID",
      `config file ${path}: unknown section "${unknown[0]}" (expected one of ${[...KNOWN_SECTIONS].join(", ")})`,
    );
  }
  const value = (doc as Record<string, unknown>)[section];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(
      "BXS_CONFIG_FILE_INVALID",
      `config file ${path}: section "${section}" must be a mapping`,
    );
  }
  return value as Record<string, unknown>;
}

/** Sections any command may find in a shared boxscope.yaml; a typo at top level is an error. */
export const KNOWN_SECTIONS = new Set([
  "shim",
  "exporter",
  "logwatcher",
  "ship",
  "index",
  "dashboards",
  "up",
]);

export function envName(section: string, key: string): string {
  return `BOXSCOPE_${section}_${key}`.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** BOXSCOPE_* variables that are not config keys: the global flags', the addons' build's
 * (common/native-addon.ts) and the dev scripts'. */
const OTHER_ENV = new Set([
  "BOXSCOPE_CONFIG",
  "BOXSCOPE_LOG_LEVEL",
  "BOXSCOPE_NATIVE_BUILD",
  "BOXSCOPE_FUZZ_SECONDS",
  "BOXSCOPE_CACHE",
  "BOXSCOPE_KAFKA_VERSION",
  "BOXSCOPE_ES_VERSION",
  "BOXSCOPE_ES_USERS",
  "BOXSCOPE_TEST_DEBUG",
]);

/**
 * A misspelt variable is an error, as the same typo in the file is: silently ignored, it leaves
 * the operator believing a setting is in force. Checked for the section being loaded and for
 * names that match no section at all.
 */
function rejectUnknownEnv(section: string, keys: string[], env: NodeJS.ProcessEnv): void {
  const known = new Set(keys.map((k) => envName(section, k)));
  const ownPrefix = envName(section, "");
  const sectionPrefixes = [...KNOWN_SECTIONS].map((s) => envName(s, ""));
  for (const name of Object.keys(env)) {
    if (!name.startsWith("BOXSCOPE_") || known.has(name) || OTHER_ENV.has(name)) continue;
    if (name.startsWith(ownPrefix)) {
      throw new UsageError(
        "BXS_CONFIG_ENV_UNKNOWN",
        `${name}: unknown setting of ${section} (did you mean ${closest(name, [...known])}?)`,
      );
    }
    if (!sectionPrefixes.some((p) => name.startsWith(p))) {
      throw new UsageError(
        "BXS_CONFIG_ENV_UNKNOWN",
        `${name}: unknown variable (expected BOXSCOPE_<SECTION>_<KEY> with a section of ${[...KNOWN_SECTIONS].join(", ")})`,
      );
    }
  }
}

/**
 * The candidate fewest single-character edits away from `name`. Written here: a dozen lines for
 * one error message do not justify a dependency.
 */
function closest(name: string, candidates: string[]): string {
  let best = candidates[0] ?? "";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    // Levenshtein distance, one row at a time.
    let row = Array.from({ length: c.length + 1 }, (_, j) => j);
    for (let i = 1; i <= name.length; i++) {
      const next = [i];
      for (let j = 1; j <= c.length; j++) {
        const swap = (row[j - 1] ?? 0) + (name[i - 1] === c[j - 1] ? 0 : 1);
        next.push(Math.min(swap, (row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1));
      }
      row = next;
    }
    const d = row[c.length] ?? 0;
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function readEnv(section: string, keys: string[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  rejectUnknownEnv(section, keys, env);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = envName(section, key);
    const raw = env[name];
    if (raw === undefined) continue;
    // YAML scalars give env vars the same typing as the file: "5" → 5, "[a, b]" → list.
    try {
      out[key] = parseYaml(raw);
    } catch (e) {
      throw new UsageError(
        "BXS_CONFIG_INVALID",
        `${name}: invalid YAML value: ${(e as Error).message.split("\n")[0]}`,
      );
    }
  }
  return out;
}

function formatIssue(section: string, issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return `config ${section}: invalid`;
  const at = [section, ...issue.path.map(String)].join(".");
  if (issue.code === "unrecognized_keys") return `config ${at}: unknown key "${issue.keys[0]}"`;
  return `config ${at}: ${issue.message}`;
}

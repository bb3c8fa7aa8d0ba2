import { UsageError } from "../common/errors.js";
import { compileLinearRegex } from "../common/regex.js";
import type { ExporterConfig, KeyProcessConfig } from "./config.js";
import type { HealthProbe } from "./sources/health-probe.js";

/** A key process rule with every field decided (built-in defaults and config merged). */
export interface KeyProcessRule {
  readonly name: string;
  /** RE2 on comm or cmdline. */
  readonly pattern: string;
  readonly match: "comm" | "cmdline";
  /** For cmdline rules: only processes whose comm matches this have their cmdline read. */
  readonly comm?: string | undefined;
  /** true: reported (down) from the start; false: only once the host has it. */
  readonly required: boolean;
  readonly probe?: HealthProbe | undefined;
}

const DEFAULT_TIMEOUT_SECONDS = 5;
const DEFAULT_INTERVAL_SECONDS = 10;

/** boxscope run as separate commands: `node …/boxscope.js [global options] COMMAND`. */
const boxscopePart = (name: string, command: string): KeyProcessRule => ({
  name: `boxscope-${name}`,
  pattern: `(^|/)boxscope(\\.js)? (.* )?${command}( |$)`,
  match: "cmdline",
  comm: "^node$",
  required: false,
});

/**
 * What `exporter.builtinKeyProcesses` watches: the daemons whose death or hang takes a host's
 * containers down, each with the health endpoint it serves at its packaged default address, and
 * boxscope's own parts when they run as processes of their own (inside `boxscope up` they are the
 * exporter's own process, which is never matched). Not required: a host without CRI-O is not
 * told CRI-O is down.
 */
export const BUILTIN_KEY_PROCESSES: readonly KeyProcessRule[] = [
  {
    name: "dockerd",
    pattern: "^dockerd$",
    match: "comm",
    required: false,
    probe: {
      kind: "http",
      url: "http://docker/_ping",
      socket: "/var/run/docker.sock",
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    },
  },
  {
    name: "containerd",
    pattern: "^containerd$",
    match: "comm",
    required: false,
    probe: {
      kind: "grpc",
      socket: "/run/containerd/containerd.sock",
      service: "",
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    },
  },
  {
    name: "kubelet",
    pattern: "^kubelet$",
    match: "comm",
    required: false,
    probe: {
      kind: "http",
      url: "http://127.0.0.1:10248/healthz",
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    },
  },
  {
    name: "crio",
    pattern: "^crio$",
    match: "comm",
    required: false,
    probe: {
      kind: "http",
      url: "http://crio/info",
      socket: "/var/run/crio/crio.sock",
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    },
  },
  boxscopePart("shim", "shim mount"),
  boxscopePart("logwatcher", "logwatcher"),
  boxscopePart("ship", "ship"),
  boxscopePart("index", "index"),
];

/**
 * The rules the exporter watches: the built-in ones (when on), each replaced field by field by a
 * configured rule of the same name, then the other configured rules. Throws UsageError naming the
 * key for a missing pattern, a bad regex, an incomplete probe or a duplicate name.
 */
export function resolveKeyProcesses(
  cfg: Pick<ExporterConfig, "builtinKeyProcesses" | "keyProcesses">,
): KeyProcessRule[] {
  const out: KeyProcessRule[] = cfg.builtinKeyProcesses ? [...BUILTIN_KEY_PROCESSES] : [];
  const seen = new Set<string>();
  cfg.keyProcesses.forEach((u, i) => {
    const at = `config exporter.keyProcesses.${i}`;
    if (seen.has(u.name))
      throw new UsageError("BXS_CONFIG_INVALID", `config exporter.keyProcesses: duplicate name "${u.name}"`);
    seen.add(u.name);
    const index = out.findIndex((r) => r.name === u.name);
    const base = index >= 0 ? out[index] : undefined;
    const pattern = u.pattern ?? base?.pattern;
    if (pattern === undefined) {
      throw new UsageError(
        "BXS_CONFIG_INVALID",
        `${at}.pattern: required (no built-in key process is named "${u.name}")`,
      );
    }
    compileLinearRegex(pattern, `${at}.pattern`);
    if (u.comm !== undefined) compileLinearRegex(u.comm, `${at}.comm`);
    const rule: KeyProcessRule = {
      name: u.name,
      pattern,
      match: u.match ?? base?.match ?? "comm",
      comm: u.comm ?? base?.comm,
      required: u.required ?? base?.required ?? true,
      probe: resolveProbe(u.probe, base?.probe, `${at}.probe`),
    };
    if (base) out[index] = rule;
    else out.push(rule);
  });
  return out;
}

function resolveProbe(
  given: KeyProcessConfig["probe"],
  base: HealthProbe | undefined,
  at: string,
): HealthProbe | undefined {
  if (given === false) return undefined;
  if (given === undefined) return base;
  const kind = given.kind ?? base?.kind;
  // Another kind than the built-in's starts afresh: a gRPC socket is no HTTP URL's socket.
  const from: Partial<Record<string, unknown>> = base && base.kind === kind ? { ...base } : {};
  for (const [k, v] of Object.entries(given)) if (v !== undefined) from[k] = v;
  const timeoutSeconds = (from.timeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS;
  const intervalSeconds = (from.intervalSeconds as number | undefined) ?? DEFAULT_INTERVAL_SECONDS;
  const socket = from.socket as string | undefined;
  if (kind === "http") {
    const url = from.url as string | undefined;
    if (url === undefined)
      throw new UsageError("BXS_CONFIG_INVALID", `${at}.url: required for an http probe`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError("BXS_CONFIG_INVALID", `${at}.url: not a URL: "${url}"`);
    }
    if (parsed.protocol !== "http:")
      throw new UsageError("BXS_CONFIG_INVALID", `${at}.url: must be http:// ("${url}")`);
    if (from.service !== undefined)
      throw new UsageError("BXS_CONFIG_INVALID", `${at}.service: only for a grpc probe`);
    return { kind, url, socket, timeoutSeconds, intervalSeconds };
  }
  if (kind === "grpc") {
    if (socket === undefined)
      throw new UsageError("BXS_CONFIG_INVALID", `${at}.socket: required for a grpc probe (a unix socket)`);
    if (from.url !== undefined)
      throw new UsageError("BXS_CONFIG_INVALID", `${at}.url: only for an http probe`);
    return {
      kind,
      socket,
      service: (from.service as string | undefined) ?? "",
      timeoutSeconds,
      intervalSeconds,
    };
  }
  throw new UsageError("BXS_CONFIG_INVALID", `${at}.kind: required (http or grpc)`);
}

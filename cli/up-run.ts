// `boxscope up`'s work, loaded by cli/up.ts only when `up` runs: the config schemas (zod) and
// prom-client are what every other command and --help would otherwise pay for at start-up.
import { existsSync } from "node:fs";
import { Registry } from "prom-client";
import { z } from "zod";
import { createCgroupLoadavgSampler } from "../cgroup/loadavg/cgroups.js";
import type { LoadavgSampler } from "../cgroup/loadavg/sampler.js";
import { type ConfigSources, loadConfig } from "../common/config.js";
import { BoxscopeError } from "../common/errors.js";
import type { GlobalOptions } from "../common/global-options.js";
import { createLogger, type Logger } from "../common/logger.js";
import { catchStopSignals, type RunningService, runUntilSignal, stopRequested } from "../common/service.js";
import { notifySystemd } from "../common/systemd.js";
import { loadExporterConfig } from "../exporter/config.js";
import { type ShipConfig, shipConfigSchema } from "../pipeline/shipper/config.js";
import { logTreeFields } from "../pipeline/sources.js";
import { type LogwatcherConfig, logwatcherConfigSchema } from "../pipeline/spool/config.js";
import { shimConfigSchema } from "../shim/config.js";

/**
 * The `up` section: which parts `boxscope up` runs. `auto` runs a part when this host supports it
 * (shim: root, /dev/fuse and the native binding; logwatcher: the log root exists) and says in one
 * log line why it did not; `on` makes a missing prerequisite an error; `off` never runs it.
 * ship's prerequisite is configuration: it runs when `ship.brokers` is set (file or env), since
 * the shipper's own default broker (127.0.0.1:9092) is a developer's, not a host's.
 */
export const upConfigSchema = z.strictObject({
  shim: z.enum(["auto", "on", "off"]).default("auto"),
  exporter: z.enum(["on", "off"]).default("on"),
  logwatcher: z.enum(["auto", "on", "off"]).default("auto"),
  ship: z.enum(["auto", "on", "off"]).default("auto"),
});
type Mode = "auto" | "on" | "off";

/** `boxscope up`'s work once commander has parsed it; resolves to the exit code. */
export async function runUp(globals: GlobalOptions): Promise<number> {
  const logger = createLogger({ level: globals.logLevel, name: "boxscope" });
  const sources: ConfigSources = { configPath: globals.config };
  const up = loadConfig("up", upConfigSchema, sources);
  // One load-average sampler for the process: the shim's /proc/loadavg views and the exporter's
  // container load metrics read the same samples, so they show the same numbers. It starts once
  // every part did (a failed start leaves nothing running and logs nothing of it).
  const loadavg = createCgroupLoadavgSampler({
    // Without the shim, the exporter track()s what its own lister finds: no second walk.
    listContainers: up.shim !== "off",
    logger: logger.child({ part: "loadavg" }),
  });
  const services = await startParts(up, sources, logger, loadavg);
  if (services.length === 0)
    throw new BoxscopeError("BXS_UP_NOTHING_STARTED", "up: no part could start on this host");
  loadavg.start();
  try {
    // Under the systemd unit (Type=notify) the container runtimes, ordered after boxscope, start
    // now: the mount they bind from is there.
    await notifySystemd(
      { ready: true, status: `running: ${services.map((s) => s.name).join(", ")}` },
      logger,
    );
  } catch (e) {
    await stopAll(services);
    await loadavg.stop();
    throw e;
  }
  void catchStopSignals().then(() =>
    notifySystemd({ stopping: true }, logger).catch((e: unknown) =>
      logger.warn({ err: e }, "could not tell systemd the service is stopping"),
    ),
  );
  const code = await runUntilSignal(services, logger);
  await loadavg.stop();
  return code;
}

/** Starts the parts in dependency order; on a failure stops what already started, then rethrows. */
async function startParts(
  up: z.infer<typeof upConfigSchema>,
  sources: ConfigSources,
  logger: Logger,
  loadavg: LoadavgSampler,
): Promise<RunningService[]> {
  // Configs first: a bad key anywhere stops `up` before anything is mounted or bound.
  const shimCfg = loadConfig("shim", shimConfigSchema, sources);
  // Without root the exporter runs without the kernel-log sources (one warning) instead of refusing.
  const exporterCfg = loadExporterConfig(sources, { requireKmsg: false });
  const logwatcherCfg = loadConfig("logwatcher", logwatcherConfigSchema, sources);
  const shipCfg = loadShipConfig(sources, logwatcherCfg);
  // One registry: the exporter's /metrics also serves the logwatcher's metrics.
  const registry = new Registry();
  const started: RunningService[] = [];
  try {
    if (wanted("shim", up.shim, await shimPrerequisite(), logger)) {
      // Each part's code loads only when it runs: `up` on a host without FUSE never loads the shim.
      const { startShim } = await import("../shim/fuse/service.js");
      started.push(
        await startShim(shimCfg, { logger: logger.child({ part: "shim" }), registry, sampler: loadavg }),
      );
    }
    if (wanted("logwatcher", up.logwatcher, logRootPrerequisite(logwatcherCfg.logRoot), logger)) {
      const { startLogwatcher } = await import("../pipeline/spool/service.js");
      started.push(await startLogwatcher(logwatcherCfg, { logger, registry, stop: stopRequested() }));
    }
    // `shipCfg &&` only narrows the type: wanted() is false whenever shipCfg is undefined.
    if (wanted("ship", up.ship, shipCfg ? undefined : NO_BROKERS, logger) && shipCfg) {
      const { startShipper } = await import("../pipeline/shipper/shipper.js");
      started.push(await startShipper(shipCfg, { logger: logger.child({ part: "ship" }), registry }));
      logger.info({ brokers: shipCfg.brokers, topic: shipCfg.topic }, "shipping the spool to Kafka");
    }
    if (up.exporter === "on") {
      const { startExporter } = await import("../exporter/exporter.js");
      const exporter = await startExporter(exporterCfg, {
        logger: logger.child({ part: "exporter" }),
        registry,
        loadavg,
      });
      logger.info({ address: exporter.address }, "exporter serving /metrics");
      started.push(exporter);
    }
  } catch (e) {
    await stopAll(started);
    throw e;
  }
  return started;
}

/** Stops what started, last first, when `up` cannot go on; their own errors add nothing then. */
async function stopAll(services: RunningService[]): Promise<void> {
  for (const s of [...services].reverse()) await s.stop().catch(() => undefined);
}

const NO_BROKERS = "no Kafka brokers configured (set ship.brokers or BOXSCOPE_SHIP_BROKERS)";

/**
 * The `ship` section as `up` runs it, or undefined when it names no brokers. The spool, the log
 * root and the trees beside it default to the logwatcher's, so one setting moves both ends.
 */
function loadShipConfig(sources: ConfigSources, logwatcher: LogwatcherConfig): ShipConfig | undefined {
  // Keys the ship section may leave to the logwatcher's: both ends of each spool, and the trees.
  const shared = [
    "spool",
    "logRoot",
    ...(Object.keys(logTreeFields) as (keyof typeof logTreeFields)[]),
  ] as const;
  const optional = Object.fromEntries(
    shared.map((k) => [k, (shipConfigSchema.shape[k] as z.ZodDefault<z.ZodType>).unwrap().optional()]),
  );
  const schema = shipConfigSchema.extend({
    brokers: shipConfigSchema.shape.brokers.unwrap().optional(),
    ...optional,
  });
  const ship = loadConfig("ship", schema, sources) as Record<string, unknown>;
  if (ship.brokers === undefined) return undefined;
  const merged: Record<string, unknown> = { ...ship };
  for (const k of shared) merged[k] ??= logwatcher[k];
  return merged as ShipConfig;
}

/** undefined when the part can run here, else why not. */
type Prerequisite = string | undefined;

function wanted(part: string, mode: Mode, missing: Prerequisite, logger: Logger): boolean {
  if (mode === "off") return false;
  if (missing === undefined) return true;
  if (mode === "on") throw new BoxscopeError("BXS_UP_PART_UNAVAILABLE", `up: ${part} cannot run: ${missing}`);
  logger.warn({ part, reason: missing }, `${part} not started on this host`);
  return false;
}

async function shimPrerequisite(): Promise<Prerequisite> {
  if (process.getuid?.() !== 0) return "needs root (FUSE allow_other and every container's /proc)";
  if (!existsSync("/dev/fuse")) return "/dev/fuse is missing";
  try {
    const { loadFuseBinding } = await import("../shim/native/binding.js");
    loadFuseBinding();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function logRootPrerequisite(logRoot: string): Prerequisite {
  return existsSync(logRoot) ? undefined : `log root ${logRoot} does not exist (set logwatcher.logRoot)`;
}

import type { Command } from "commander";
import { UsageError } from "../../common/errors.js";
import type { GlobalOptions } from "../../common/global-options.js";
import { runUntilSignal } from "../../common/service.js";
import type { ShimConfig } from "../config.js";

interface MountFlags {
  mountpoint?: string;
  cacheMs?: string;
  threads?: string;
  spinUs?: string;
  options?: string;
  healStale?: boolean;
  handoverSocket?: string;
}

/** `boxscope shim mount [--mountpoint DIR]`: the FUSE daemon, in the foreground until SIGTERM/SIGINT. */
export function registerShimMountCommand(shim: Command): void {
  shim
    .command("mount")
    .description(
      "mount the container views with FUSE (LXCFS layout: <dir>/proc/meminfo ...); foreground, root",
    )
    .option("--mountpoint <dir>", "where to mount (config shim.mountpoint, default /var/lib/boxscope)")
    .option("--cache-ms <n>", "re-serve a container's rendered view for this many ms (shim.mountCacheMs)")
    .option("--threads <n>", "most FUSE worker threads (shim.mountThreads)")
    .option(
      "--spin-us <n>",
      "poll this long for the next request before sleeping; 0 = never (shim.mountSpinUs)",
    )
    .option("--options <opts>", "extra FUSE mount options, comma-separated (shim.mountOptions)")
    .option(
      "--no-heal-stale",
      "do not repair containers' binds of a dead daemon on start (shim.mountHealStale)",
    )
    .option(
      "--handover-socket <path>",
      'take over from / hand over to another daemon here; "off" disables (shim.mountHandoverSocket, default auto)',
    )
    .action(async (flags: MountFlags, cmd: Command) => {
      // Everything below loads on use: every command registers here, and --help and the other
      // commands must not pay for the config schema (zod), pino or the FUSE daemon.
      // Not common/service-command.ts: standalone, the mount keeps no metrics registry (nothing
      // would serve it), so it starts without loading prom-client.
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const cfg = await mountConfig(flags, globals.config);
      const [{ createLogger }, { startShim }] = await Promise.all([
        import("../../common/logger.js"),
        import("./service.js"),
      ]);
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-shim" });
      const service = await startShim(cfg, { logger });
      process.exitCode = await runUntilSignal([service], logger);
    });
}

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(
      "BXS_FLAG_INVALID",
      `shim mount: ${name} expects a non-negative integer, got "${value}"`,
    );
  return Number(value);
}

/** Flags over env over file over defaults; throws UsageError naming the bad key. */
async function mountConfig(flags: MountFlags, configPath?: string): Promise<ShimConfig> {
  const [{ loadConfig }, { shimConfigSchema }] = await Promise.all([
    import("../../common/config.js"),
    import("../config.js"),
  ]);
  return loadConfig("shim", shimConfigSchema, {
    configPath,
    flags: {
      mountpoint: flags.mountpoint,
      mountCacheMs: intFlag("--cache-ms", flags.cacheMs),
      mountThreads: intFlag("--threads", flags.threads),
      mountSpinUs: intFlag("--spin-us", flags.spinUs),
      mountOptions: flags.options,
      mountHandoverSocket: flags.handoverSocket,
      // commander sets healStale=true by default for --no-*: only a given flag overrides the config.
      mountHealStale: flags.healStale === false ? false : undefined,
    },
  });
}

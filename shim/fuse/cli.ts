import type { Command } from "commander";
import type { GlobalOptions } from "../../cli/main.js";
import { loadConfig } from "../../common/config.js";
import { UsageError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { runUntilSignal } from "../../common/service.js";
import { type ShimConfig, shimConfigSchema } from "../config.js";

interface MountFlags {
  mountpoint?: string;
  cacheMs?: string;
  threads?: string;
  options?: string;
  healStale?: boolean;
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
    .option("--options <opts>", "extra FUSE mount options, comma-separated (shim.mountOptions)")
    .option(
      "--no-heal-stale",
      "do not repair containers' binds of a dead daemon on start (shim.mountHealStale)",
    )
    .action(async (flags: MountFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const cfg = mountConfig(flags, globals.config);
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-shim" });
      const { startShim } = await import("./service.js");
      const service = await startShim(cfg, { logger });
      process.exitCode = await runUntilSignal([service], logger);
    });
}

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`shim mount: ${name} expects a non-negative integer, got "${value}"`);
  return Number(value);
}

/** Flags over env over file over defaults; throws UsageError naming the bad key. */
function mountConfig(flags: MountFlags, configPath?: string): ShimConfig {
  return loadConfig("shim", shimConfigSchema, {
    configPath,
    flags: {
      mountpoint: flags.mountpoint,
      mountCacheMs: intFlag("--cache-ms", flags.cacheMs),
      mountThreads: intFlag("--threads", flags.threads),
      mountOptions: flags.options,
      // commander sets healStale=true by default for --no-*: only a given flag overrides the config.
      mountHealStale: flags.healStale === false ? false : undefined,
    },
  });
}

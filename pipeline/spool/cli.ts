import type { Command } from "commander";
import { UsageError } from "../../common/errors.js";
import type { GlobalOptions } from "../../common/global-options.js";
import { stopRequested } from "../../common/service.js";
import { runServiceCommand } from "../../common/service-command.js";

interface LogwatcherFlags {
  logRoot?: string;
  spool?: string;
  include?: string[];
  exclude?: string[];
  reconcileIntervalSeconds?: number;
  polling?: boolean;
  pollingIntervalMs?: number;
}

const globList = (v: string): string[] =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const positiveNumber =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError("BXS_FLAG_INVALID", `${flag}: expected a positive number, got "${v}"`);
    return n;
  };

/** `boxscope logwatcher`: keeps the spool of unique symlinks in step with the log tree. */
export function registerSpoolCommand(program: Command): void {
  program
    .command("logwatcher")
    .description("keep a flat spool of unique symlinks in step with every log file under the log root")
    .option("--log-root <dir>", "host log directory, one subdirectory per container (default /app/log)")
    .option("--spool <dir>", "flat directory of symlinks for the shipper (default /run/boxscope/spool)")
    .option("--include <globs>", "comma-separated globs of files to link (default *.log)", globList)
    .option("--exclude <globs>", "comma-separated globs to skip (default *.gz)", globList)
    .option(
      "--reconcile-interval-seconds <n>",
      "full tree/spool check every n seconds (default 60)",
      positiveNumber("--reconcile-interval-seconds"),
    )
    .option("--polling", "poll instead of inotify (network filesystems)")
    .option(
      "--polling-interval-ms <n>",
      "poll period (default 1000)",
      positiveNumber("--polling-interval-ms"),
    )
    .action(async (flags: LogwatcherFlags, cmd: Command) => {
      // Everything below loads on use: every command registers here, and --help and the other
      // commands must not pay for the config schema (zod), pino, prom-client or chokidar.
      process.exitCode = await runServiceCommand(cmd.optsWithGlobals<GlobalOptions>(), {
        name: "logwatcher",
        config: async (configPath) => {
          const [{ loadConfig }, { logwatcherConfigSchema }] = await Promise.all([
            import("../../common/config.js"),
            import("./config.js"),
          ]);
          return loadConfig("logwatcher", logwatcherConfigSchema, {
            configPath,
            flags: {
              logRoot: flags.logRoot,
              spool: flags.spool,
              include: flags.include,
              exclude: flags.exclude,
              reconcileIntervalSeconds: flags.reconcileIntervalSeconds,
              usePolling: flags.polling,
              pollingIntervalMs: flags.pollingIntervalMs,
            },
          });
        },
        start: async (config, deps) => {
          const { startLogwatcher } = await import("./service.js");
          return await startLogwatcher(config, { ...deps, stop: stopRequested() });
        },
      });
    });
}

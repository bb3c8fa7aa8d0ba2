import type { Command } from "commander";
import type { GlobalOptions } from "../common/global-options.js";
import { runServiceCommand } from "../common/service-command.js";

/** `boxscope exporter [--listen HOST:PORT] [--log-root DIR]`: serves /metrics and /healthz until SIGTERM. */
export function registerExporterCommands(program: Command): void {
  program
    .command("exporter")
    .description("serve host and container threshold metrics (/metrics, /healthz) for Prometheus")
    .option("--listen <host:port>", "listen address (env BOXSCOPE_EXPORTER_LISTEN; default 127.0.0.1:9464)")
    .option("--log-root <dir>", "container log root whose partition is watched (default /app/log)")
    .option("--no-kmsg", "do not read /dev/kmsg (another process is the host's kernel log reader)")
    .action(async (opts: { listen?: string; logRoot?: string; kmsg?: boolean }, cmd: Command) => {
      // Everything below loads on use: every command registers here, and --help and the other
      // commands must not pay for the config schema (zod), pino, prom-client or fastify.
      process.exitCode = await runServiceCommand(cmd.optsWithGlobals<GlobalOptions>(), {
        name: "exporter",
        loggerName: "boxscope-exporter",
        config: async (configPath) => {
          const { loadExporterConfig } = await import("./config.js");
          return loadExporterConfig({
            configPath,
            // commander sets kmsg=true by default for --no-kmsg; only an explicit --no-kmsg overrides.
            flags: {
              listen: opts.listen,
              logRoot: opts.logRoot,
              kmsg: opts.kmsg === false ? false : undefined,
            },
          });
        },
        // The exporter serves its registry itself (rendered ahead of scrapes).
        start: async (config, deps) => {
          const { startExporter } = await import("./exporter.js");
          return await startExporter(config, deps);
        },
      });
    });
}

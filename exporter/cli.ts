import type { Command } from "commander";
import type { GlobalOptions } from "../cli/main.js";
import { runUntilSignal } from "../common/service.js";

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
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const { loadExporterConfig } = await import("./config.js");
      const config = loadExporterConfig({
        configPath: globals.config,
        // commander sets kmsg=true by default for --no-kmsg; only an explicit --no-kmsg overrides.
        flags: { listen: opts.listen, logRoot: opts.logRoot, kmsg: opts.kmsg === false ? false : undefined },
      });
      const [{ createLogger }, { createRegistry }, { startExporter }] = await Promise.all([
        import("../common/logger.js"),
        import("../common/registry.js"),
        import("./exporter.js"),
      ]);
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-exporter" });
      const service = await startExporter(config, { logger, registry: createRegistry() });
      process.exitCode = await runUntilSignal([service], logger);
    });
}

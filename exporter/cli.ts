import type { Command } from "commander";
import { Registry } from "prom-client";
import type { GlobalOptions } from "../cli/main.js";
import { createLogger } from "../common/logger.js";
import { runUntilSignal } from "../common/service.js";
import { loadExporterConfig } from "./config.js";

/** `boxscope exporter [--listen HOST:PORT] [--log-root DIR]`: serves /metrics and /healthz until SIGTERM. */
export function registerExporterCommands(program: Command): void {
  program
    .command("exporter")
    .description("serve host and container threshold metrics (/metrics, /healthz) for Prometheus")
    .option("--listen <host:port>", "listen address (env BOXSCOPE_EXPORTER_LISTEN; default 127.0.0.1:9464)")
    .option("--log-root <dir>", "container log root whose partition is watched (default /app/log)")
    .option("--no-kmsg", "do not read /dev/kmsg (another process is the host's kernel log reader)")
    .action(async (opts: { listen?: string; logRoot?: string; kmsg?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadExporterConfig({
        configPath: globals.config,
        // commander sets kmsg=true by default for --no-kmsg; only an explicit --no-kmsg overrides.
        flags: { listen: opts.listen, logRoot: opts.logRoot, kmsg: opts.kmsg === false ? false : undefined },
      });
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-exporter" });
      // Loaded on demand so other commands do not pay for fastify and the collectors.
      const { startExporter } = await import("./exporter.js");
      const service = await startExporter(config, { logger, registry: new Registry() });
      process.exitCode = await runUntilSignal([service], logger);
    });
}

import type { Command } from "commander";
import { type RunningService, runUntilSignal } from "../../common/service.js";
import { serveMetrics } from "../metrics-listen.js";

interface ShipFlags {
  spool?: string;
  logRoot?: string;
  brokers?: string;
  topic?: string;
  compression?: string;
  positions?: string;
  positionsRecover?: string;
  multilineFirstLine?: string;
  host?: string;
}

const int = (v: string): number => Number(v);

/** `boxscope ship`: spool files → Kafka. */
export function registerShipCommand(program: Command): void {
  program
    .command("ship")
    .description("tail every file in the spool into a Kafka topic, with persisted positions")
    .option("--spool <dir>", "the logwatcher's directory of symlinks")
    .option("--log-root <dir>", "host log directory (<logRoot>/<container>/**)")
    .option("--brokers <list>", "Kafka bootstrap brokers, HOST:PORT[,HOST:PORT...]")
    .option("--topic <name>", "Kafka topic")
    .option("--compression <codec>", "record batch compression: lz4 (default) | gzip | none")
    .option("--positions <file>", "positions file (JSON, written atomically; FILE.bak = previous generation)")
    .option("--positions-recover <mode>", "when the positions file is corrupt: bak | end | start")
    .option(
      "--multiline-first-line <regex>",
      "a line matching this starts a record; others join the previous one",
    )
    .option("--host <name>", "host name written into every record")
    .option("--partial-flush-ms <ms>", "ship an unterminated last line after this long without growth", int)
    .option("--poll-interval-ms <ms>", "spool scan interval", int)
    .option("--metrics-listen <host:port>", "serve Prometheus /metrics here (default: off)")
    .action(async (flags: ShipFlags & Record<string, unknown>, cmd: Command) => {
      // Everything below loads on use: every command registers here, and --help and the other
      // commands must not pay for the config schema (zod), pino or prom-client. `boxscope ship`
      // must start fast (a slow start widens the window in which a rotation can outrun it).
      const globals = cmd.optsWithGlobals<{ config?: string; logLevel: string }>();
      const [{ loadConfig }, { shipConfigSchema }] = await Promise.all([
        import("../../common/config.js"),
        import("./config.js"),
      ]);
      const config = loadConfig("ship", shipConfigSchema, {
        configPath: globals.config,
        flags: { ...flags },
      });
      const [{ createLogger }, { createRegistry }] = await Promise.all([
        import("../../common/logger.js"),
        import("../../common/registry.js"),
      ]);
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-ship" });
      const registry = createRegistry();
      const services: RunningService[] = [];
      if (config.metricsListen !== undefined) {
        // First, so a bad or taken address fails the command before anything is read.
        services.push(await serveMetrics(registry, config.metricsListen, logger, "ship metrics listen"));
      }
      // The shipper loads its Kafka client itself, once reading has started.
      const { startShipper } = await import("./shipper.js");
      services.push(await startShipper(config, { logger, registry }));
      process.exitCode = await runUntilSignal(services, logger);
    });
}

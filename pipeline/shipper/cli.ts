import type { Command } from "commander";
import type { GlobalOptions } from "../../common/global-options.js";
import { runServiceCommand } from "../../common/service-command.js";

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
      process.exitCode = await runServiceCommand(cmd.optsWithGlobals<GlobalOptions>(), {
        name: "ship",
        loggerName: "boxscope-ship",
        config: async (configPath) => {
          const [{ loadConfig }, { shipConfigSchema }] = await Promise.all([
            import("../../common/config.js"),
            import("./config.js"),
          ]);
          return loadConfig("ship", shipConfigSchema, { configPath, flags: { ...flags } });
        },
        metricsListen: (config) => config.metricsListen,
        start: async (config, deps) => {
          // The shipper loads its Kafka client itself, once reading has started.
          const { startShipper } = await import("./shipper.js");
          return await startShipper(config, deps);
        },
      });
    });
}

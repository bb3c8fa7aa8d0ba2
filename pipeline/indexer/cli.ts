import type { Command } from "commander";
import type { GlobalOptions } from "../../common/global-options.js";
import { runServiceCommand } from "../../common/service-command.js";

const int = (v: string): number => Number(v);

/** `boxscope index`: Kafka → Elasticsearch. */
export function registerIndexCommand(program: Command): void {
  program
    .command("index")
    .description("consume the log topic into Elasticsearch daily indices (one document per line)")
    .option("--brokers <list>", "Kafka bootstrap brokers, HOST:PORT[,HOST:PORT...]")
    .option("--elasticsearch <url>", "Elasticsearch URL")
    .option("--topic <name>", "Kafka topic")
    .option("--group <id>", "Kafka consumer group")
    .option("--dead-letter-topic <name>", "topic for records that can never be indexed")
    .option("--index-prefix <prefix>", "daily indices are PREFIX-YYYY.MM.DD")
    .option("--index-replicas <n>", "replicas of each daily index", int)
    .option("--bulk-concurrency <n>", "_bulk requests in flight at once", int)
    .option(
      "--replay-lookback-days <n>",
      "days before a replayed record's index searched for its document (0 = off)",
      int,
    )
    .option("--metrics-listen <host:port>", "serve Prometheus /metrics here (default: off)")
    .action(async (flags: Record<string, unknown>, cmd: Command) => {
      // Everything below loads on use: every command registers here, and --help and the other
      // commands (`boxscope ship` must start fast) must not pay for the config schema (zod), pino,
      // prom-client or the Kafka/ES clients.
      process.exitCode = await runServiceCommand(cmd.optsWithGlobals<GlobalOptions>(), {
        name: "index",
        loggerName: "boxscope-index",
        config: async (configPath) => {
          const [{ loadConfig }, { indexConfigSchema }] = await Promise.all([
            import("../../common/config.js"),
            import("./config.js"),
          ]);
          return loadConfig("index", indexConfigSchema, { configPath, flags });
        },
        metricsListen: (config) => config.metricsListen,
        start: async (config, deps) => {
          const { startIndexer } = await import("./indexer.js");
          return await startIndexer(config, deps);
        },
      });
    });
}

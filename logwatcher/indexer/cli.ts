import type { Command } from "commander";
import { type RunningService, runUntilSignal } from "../../common/service.js";
import { serveMetrics } from "../metrics-listen.js";

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
      const globals = cmd.optsWithGlobals<{ config?: string; logLevel: string }>();
      const [{ loadConfig }, { indexConfigSchema }] = await Promise.all([
        import("../../common/config.js"),
        import("./config.js"),
      ]);
      const config = loadConfig("index", indexConfigSchema, { configPath: globals.config, flags });
      const [{ createLogger }, { createRegistry }] = await Promise.all([
        import("../../common/logger.js"),
        import("../../common/registry.js"),
      ]);
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-index" });
      const registry = createRegistry();
      const services: RunningService[] = [];
      if (config.metricsListen !== undefined) {
        // First, so a bad or taken address fails the command before anything is consumed.
        services.push(await serveMetrics(registry, config.metricsListen, logger, "index metrics listen"));
      }
      const { startIndexer } = await import("./indexer.js");
      services.push(await startIndexer(config, { logger, registry }));
      process.exitCode = await runUntilSignal(services, logger);
    });
}

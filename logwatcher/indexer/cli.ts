import type { Command } from "commander";
import { Registry } from "prom-client";
import { loadConfig } from "../../common/config.js";
import { createLogger } from "../../common/logger.js";
import { runUntilSignal } from "../../common/service.js";
import { indexConfigSchema } from "./config.js";

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
    .action(async (flags: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ config?: string; logLevel: string }>();
      const config = loadConfig("index", indexConfigSchema, { configPath: globals.config, flags });
      const logger = createLogger({ level: globals.logLevel, name: "boxscope-index" });
      // Loaded on use: `boxscope ship` must start fast (a slow start widens the window in which a
      // rotation can outrun it), and the other commands need none of the Kafka/ES clients.
      const { startIndexer } = await import("./indexer.js");
      const service = await startIndexer(config, { logger, registry: new Registry() });
      process.exitCode = await runUntilSignal([service], logger);
    });
}

import type { Command } from "commander";
import { registerIndexCommand } from "./indexer/cli.js";
import { registerShipCommand } from "./shipper/cli.js";
import { registerLogwatcherCommand } from "./spool/cli.js";

/** The log path's three commands: `logwatcher` (spool), `ship` (→ Kafka), `index` (→ Elasticsearch). */
export function registerLogwatcherCommands(program: Command): void {
  registerLogwatcherCommand(program);
  registerShipCommand(program);
  registerIndexCommand(program);
}

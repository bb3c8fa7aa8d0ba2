import type { Command } from "commander";
import { registerIndexCommand } from "./indexer/cli.js";
import { registerShipCommand } from "./shipper/cli.js";
import { registerSpoolCommand } from "./spool/cli.js";

/** The log path's three commands: `logwatcher` (spool), `ship` (→ Kafka), `index` (→ Elasticsearch). */
export function registerLogPipelineCommands(program: Command): void {
  registerSpoolCommand(program);
  registerShipCommand(program);
  registerIndexCommand(program);
}

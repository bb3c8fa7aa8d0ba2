import type { Registry } from "prom-client";
import type { Logger } from "../common/logger.js";
import type { RunningService } from "../common/service.js";

/**
 * `--metrics-listen` of the standalone `boxscope ship` / `boxscope index`: serves their registry on
 * /metrics through the exporter's server (loaded only when asked for). A malformed address is a
 * UsageError from parseListen; an address that cannot be bound is one clear error naming it.
 */
export async function serveMetrics(
  registry: Registry,
  listen: string,
  logger: Logger,
  flag: string,
): Promise<RunningService & { address: string }> {
  const { startMetricsServer } = await import("../exporter/server.js");
  return await startMetricsServer({ registry, listen, logger, what: flag });
}

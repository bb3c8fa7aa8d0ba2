// Test driver: runs startLogwatcher in its own process (so a test can give it its own inotify
// limits) and prints the registry in Prometheus text on stdout once stopped by SIGTERM.
// Usage: node dist/test/logwatcher/run-service.js LOG_ROOT SPOOL [POLLING_INTERVAL_MS]
import { Registry } from "prom-client";
import { createLogger } from "../../common/logger.js";
import { runUntilSignal } from "../../common/service.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { startLogwatcher } from "../../pipeline/spool/service.js";

const [logRoot, spool, interval] = process.argv.slice(2);
const registry = new Registry();
const logger = createLogger({ level: "info" });
const config = logwatcherConfigSchema.parse({
  dockerLogs: "off",
  podLogs: "off",
  logRoot,
  spool,
  pollingIntervalMs: interval ? Number(interval) : 100,
  reconcileIntervalSeconds: 3600, // the test wants the watcher, not the periodic pass, to find files
});
const svc = await startLogwatcher(config, { logger, registry });
const code = await runUntilSignal([svc], logger);
process.stdout.write(await registry.metrics());
process.exitCode = code;

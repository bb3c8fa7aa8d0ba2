import type { Registry } from "prom-client";
import type { GlobalOptions } from "./global-options.js";
import type { Logger } from "./logger.js";
import { type RunningService, runUntilSignal } from "./service.js";

/** What a service is started with: the command's logger and the registry its metrics go in. */
export interface ServiceDeps {
  readonly logger: Logger;
  readonly registry: Registry;
}

/** One long-running command (`ship`, `index`, `logwatcher`, `exporter`, `shim mount`) as the runner drives it. */
export interface ServiceCommand<C> {
  /** The command as typed ("ship"): errors about its settings start with it. */
  readonly name: string;
  /** The logger's `name` field; "boxscope" by default. */
  readonly loggerName?: string;
  /**
   * The command's config: flags over environment over the file at `configPath` over defaults.
   * Runs first, so a bad key fails the command before anything else loads or starts.
   */
  config(configPath: string | undefined): C | Promise<C>;
  /** HOST:PORT to serve the registry on (/metrics); undefined: no metrics server (the default). */
  metricsListen?(config: C): string | undefined;
  /** Starts the command's work; its module is best loaded here, on use. */
  start(config: C, deps: ServiceDeps): Promise<RunningService>;
}

/**
 * The sequence every service command runs: config → logger → registry → metrics server (when
 * asked for) → start → run until SIGTERM/SIGINT. Resolves to the exit code (see runUntilSignal).
 *
 * Commands import this module statically from their registration modules, which every command and
 * `--help` load: pino, prom-client and fastify therefore load here only on use, fastify only when
 * a metrics address is set.
 */
export async function runServiceCommand<C>(
  globals: GlobalOptions,
  command: ServiceCommand<C>,
): Promise<number> {
  const config = await command.config(globals.config);
  const [{ createLogger }, { createRegistry }] = await Promise.all([
    import("./logger.js"),
    import("./registry.js"),
  ]);
  const logger = createLogger({ level: globals.logLevel, name: command.loggerName });
  const registry = createRegistry();
  const services: RunningService[] = [];
  const listen = command.metricsListen?.(config);
  if (listen !== undefined) {
    // First, so a bad or taken address fails the command before any work starts.
    const { startMetricsServer } = await import("./metrics/server.js");
    const what = `${command.name} metrics listen`;
    services.push(await startMetricsServer({ registry, listen, logger, what }));
  }
  try {
    services.push(await command.start(config, { logger, registry }));
  } catch (e) {
    // The metrics server would otherwise keep the process alive after the command failed.
    for (const s of services) await s.stop().catch(() => undefined);
    throw e;
  }
  return await runUntilSignal(services, logger);
}

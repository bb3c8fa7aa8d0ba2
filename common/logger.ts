import { type Logger, pino } from "pino";

export type { Logger };

/**
 * One structured event per line on stderr (stdout is reserved for command output such as
 * `shim render`). No global logger: commands create one and pass it down.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino(
    { name: opts.name ?? "boxscope", level: opts.level ?? process.env.BOXSCOPE_LOG_LEVEL ?? "info" },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and pure callers. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

import type { Logger } from "./logger.js";

/** A long-running part (shim mount, exporter, logwatcher, shipper, indexer) once started. */
export interface RunningService {
  readonly name: string;
  /** Finish in-flight work (flush, ack, unmount) and release everything; resolves when done. */
  stop(): Promise<void>;
  /** Resolves or rejects if the service ends on its own (fatal error); never for a clean stop. */
  readonly done?: Promise<void>;
}

/**
 * Keeps the process alive until SIGTERM/SIGINT, then stops services in reverse start order.
 * Resolves to the exit code: 0 on a clean stop, 1 if a service died or failed to stop.
 */
export async function runUntilSignal(services: RunningService[], log: Logger): Promise<number> {
  let exitCode = 0;
  const signalled = new Promise<string>((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => resolve(sig));
  });
  const died = Promise.race(
    services.filter((s) => s.done).map((s) => s.done?.then(() => s.name).catch((e: unknown) => ({ s, e }))),
  );
  const first = await Promise.race([signalled, died]);
  if (typeof first === "object" && first !== null) {
    log.error({ service: first.s.name, err: first.e }, "service failed; stopping the rest");
    exitCode = 1;
  } else {
    log.info({ reason: first }, "stopping");
  }
  for (const s of [...services].reverse()) {
    try {
      await s.stop();
    } catch (e) {
      log.error({ service: s.name, err: e }, "stop failed");
      exitCode = 1;
    }
  }
  return exitCode;
}

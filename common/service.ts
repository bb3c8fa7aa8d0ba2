import { constants } from "node:os";
import { BoxscopeError } from "./errors.js";
import type { Logger } from "./logger.js";

/** A long-running part (shim mount, exporter, logwatcher, shipper, indexer) once started. */
export interface RunningService {
  readonly name: string;
  /** Finish in-flight work (flush, ack, unmount) and release everything; resolves when done. */
  stop(): Promise<void>;
  /** Resolves or rejects if the service ends on its own (fatal error); never for a clean stop. */
  readonly done?: Promise<void>;
}

interface StopSignalLatch {
  readonly signal: Promise<NodeJS.Signals>;
  /** Aborted with the first signal: long start-up work polls it to end early. */
  readonly requested: AbortController;
  /** Set once runUntilSignal owns the signal; until then a caught signal has a deadline. */
  taken: boolean;
}

// Signals are per process, so the latch is too: it must exist before any command code runs.
let latch: StopSignalLatch | undefined;

/** How long a signal caught during start-up waits for runUntilSignal before the process exits. */
const START_UP_GRACE_MS = 10_000;

/**
 * Catches the first SIGTERM/SIGINT from the start of the process. Without it a signal that lands
 * while a service is still starting (mounting FUSE, walking the log tree) kills the process with
 * the default action and leaves a stale mount or a half-built spool; caught, it stops the services
 * cleanly as soon as runUntilSignal takes over. If nothing takes over within `graceMs` (a one-shot
 * command, or a start-up that hangs) the process exits with the shell's 128+signal code, as the
 * default action would have. A second signal of the same kind gets the default action.
 */
export function catchStopSignals(graceMs = START_UP_GRACE_MS): Promise<NodeJS.Signals> {
  return stopSignalLatch(graceMs).signal;
}

/** Aborted once a stop signal was caught: for start-up work that can end early (a tree walk). */
export function stopRequested(): AbortSignal {
  return stopSignalLatch(START_UP_GRACE_MS).requested.signal;
}

function stopSignalLatch(graceMs: number): StopSignalLatch {
  if (latch) return latch;
  let resolveSignal: (sig: NodeJS.Signals) => void = () => undefined;
  const created: StopSignalLatch = {
    signal: new Promise((resolve) => {
      resolveSignal = resolve;
    }),
    requested: new AbortController(),
    taken: false,
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      resolveSignal(sig);
      created.requested.abort(sig);
      setTimeout(() => {
        if (!created.taken) process.exit(128 + constants.signals[sig]);
      }, graceMs).unref();
    });
  }
  latch = created;
  return created;
}

/**
 * Keeps the process alive until SIGTERM/SIGINT (including one caught during start-up by
 * catchStopSignals), then stops services in reverse start order.
 * Resolves to the exit code: 0 on a clean stop, 1 if a service died or failed to stop.
 */
export async function runUntilSignal(services: RunningService[], log: Logger): Promise<number> {
  let exitCode = 0;
  const stop = stopSignalLatch(START_UP_GRACE_MS);
  stop.taken = true;
  const signalled = stop.signal;
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
      exitCode = e instanceof BoxscopeError ? e.exitCode : 1;
    }
  }
  return exitCode;
}

import { execFile } from "node:child_process";
import { BoxscopeError, errnoCode } from "./errors.js";
import type { Logger } from "./logger.js";

/** What to tell the service manager (sd_notify(3)); fields left out are not sent. */
export interface SystemdState {
  /** Start-up is complete: under Type=notify, units ordered after this one may start now. */
  ready?: true;
  /** The service is stopping (a stop signal arrived); systemctl shows "deactivating". */
  stopping?: true;
  /** One line shown by `systemctl status`. */
  status?: string;
}

export interface NotifyOptions {
  /** Where NOTIFY_SOCKET and PATH are read; the process's environment unless given. */
  env?: NodeJS.ProcessEnv;
}

/** The program that speaks the notification protocol; from systemd's own package. */
const NOTIFY_COMMAND = "systemd-notify";

/**
 * Tells systemd about the service's state through `systemd-notify`. A no-op unless systemd
 * started this process with a notification socket (NOTIFY_SOCKET set, as under Type=notify).
 *
 * systemd-notify (systemd ≥ 246) waits until the manager has processed the message (a
 * BARRIER=1 round trip), so the message is attributed to the unit even though systemd-notify
 * exits at once; the unit needs NotifyAccess=all, since the sender is a child process.
 *
 * Throws a BoxscopeError when the message could not be delivered (systemd-notify missing, or
 * exiting non-zero): under Type=notify a readiness message lost silently would leave the unit
 * "activating" until its start timeout kills it.
 */
export async function notifySystemd(
  state: SystemdState,
  logger: Logger,
  options: NotifyOptions = {},
): Promise<void> {
  const env = options.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === "") return;
  const args = notifyArgs(state);
  if (args.length === 0) return;
  await runNotify(args, env, socket);
  logger.debug({ state, socket }, "notified systemd");
}

/** systemd-notify's arguments for `state` (STOPPING=1 as an assignment: old versions lack --stopping). */
export function notifyArgs(state: SystemdState): string[] {
  const args: string[] = [];
  if (state.ready) args.push("--ready");
  if (state.stopping) args.push("STOPPING=1");
  // A newline would start another assignment in the message: keep the status one line.
  if (state.status !== undefined) args.push(`--status=${state.status.replace(/[\r\n]+/g, " ")}`);
  return args;
}

function runNotify(args: string[], env: NodeJS.ProcessEnv, socket: string): Promise<void> {
  const what = `${NOTIFY_COMMAND} ${args.join(" ")}`;
  return new Promise((resolve, reject) => {
    execFile(NOTIFY_COMMAND, args, { env, encoding: "utf8" }, (error, _stdout, stderr) => {
      if (error === null) return resolve();
      const code = errnoCode(error);
      if (code === "ENOENT") {
        return reject(
          new BoxscopeError(
            "BXS_SYSTEMD_NOTIFY_FAILED",
            `cannot notify systemd: ${NOTIFY_COMMAND} is not installed or not on PATH (it comes with systemd)`,
            { context: { socket }, cause: error },
          ),
        );
      }
      const exit = typeof error.code === "number" ? `exit ${error.code}` : (code ?? error.message);
      const reason = stderr.trim().split("\n").pop() || "no message";
      reject(
        new BoxscopeError(
          "BXS_SYSTEMD_NOTIFY_FAILED",
          `cannot notify systemd at NOTIFY_SOCKET=${socket}: \`${what}\` failed (${exit}): ${reason}`,
          { context: { socket }, cause: error },
        ),
      );
    });
  });
}

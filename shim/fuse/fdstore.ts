/**
 * systemd's file descriptor store, which keeps the live FUSE connection across `systemctl restart`
 * (shim/native/src/fdstore.h). systemd stops the old process before it starts the new one; the
 * stopping daemon leaves its /dev/fuse fd and its state with systemd (FDSTORE=1), and systemd passes
 * them to the next start (LISTEN_FDS), which serves on. Requests wait in the kernel meanwhile.
 */

/** The FDNAME both stored fds carry. */
export const FDSTORE_NAME = "boxscope-shim";
/** sd_listen_fds(3): passed fds start here. */
const LISTEN_FDS_START = 3;

export interface FdStore {
  /** NOTIFY_SOCKET: where the connection is stored at stop and dropped once adopted. */
  socket: string;
  /** Whether to store the connection at stop: the unit allows a store ($FDSTORE > 0). */
  storeAtStop: boolean;
  /** The fds systemd passed back under FDSTORE_NAME at this start; empty when none. */
  passed: number[];
}

/**
 * The fd store of a process started by systemd with a notification socket, else undefined. Storing
 * needs $FDSTORE > 0: systemd ≥ 254 sets it from the unit's FileDescriptorStoreMax=, and the unit
 * sets it itself for older systemd; without it systemd would close what it was sent. Passed fds are
 * taken whenever there are any: left alone, the stored connection would stay alive with nobody
 * serving it. The LISTEN_ variables are removed from `env` (sd_listen_fds' unset_environment), so
 * children never take the fds for theirs.
 */
export function fdStoreOf(env: NodeJS.ProcessEnv, pid: number): FdStore | undefined {
  const socket = env.NOTIFY_SOCKET;
  const passed = passedFds(env, pid);
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (socket === undefined || socket === "") return undefined;
  const max = Number(env.FDSTORE ?? "0");
  return { socket, storeAtStop: Number.isInteger(max) && max > 0, passed };
}

/** The fds named FDSTORE_NAME that systemd passed to `pid`. */
function passedFds(env: NodeJS.ProcessEnv, pid: number): number[] {
  if (env.LISTEN_PID !== String(pid)) return [];
  const count = Number(env.LISTEN_FDS ?? "0");
  if (!Number.isInteger(count) || count <= 0) return [];
  const names = (env.LISTEN_FDNAMES ?? "").split(":");
  const fds: number[] = [];
  for (let i = 0; i < count; i++) if (names[i] === FDSTORE_NAME) fds.push(LISTEN_FDS_START + i);
  return fds;
}

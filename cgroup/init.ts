/**
 * The init process of a container given its cgroup (for `--cgroup PATH` and the exporter, which
 * start from a cgroup rather than from a reading process): the init of the pid namespace of the
 * cgroup's processes, else (a container sharing the host pid namespace) its oldest process.
 */
import { findNamespaceInit, readProcStartTicks } from "./process.js";
import { readCgroupPidsRecursive } from "./tasks.js";
import type { CgroupHandle } from "./types.js";

export interface ProcessStart {
  readonly initPid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks since boot. */
  readonly startTicks: number;
}

/** The oldest of `pids` by start time (vanished pids skipped); undefined when none is left. */
export function oldestProcess(pids: readonly number[], procRoot = "/proc"): ProcessStart | undefined {
  let best: ProcessStart | undefined;
  for (const pid of pids) {
    const startTicks = readProcStartTicks(pid, procRoot);
    if (startTicks === undefined) continue;
    if (
      best === undefined ||
      startTicks < best.startTicks ||
      (startTicks === best.startTicks && pid < best.initPid)
    ) {
      best = { initPid: pid, startTicks };
    }
  }
  return best;
}

/**
 * A container's init: the pid-namespace init of its processes (checked against the cgroup: the init
 * must itself be one of the cgroup's processes, so a shared namespace is not mistaken for the
 * container's own), else its oldest process. undefined when the cgroup has no live process.
 */
export function findContainerInit(handle: CgroupHandle, procRoot = "/proc"): ProcessStart | undefined {
  const pids = readCgroupPidsRecursive(handle);
  const members = new Set(pids);
  // Only a few candidates: every process of one container shares the same namespace init.
  for (const pid of pids.slice(0, 4)) {
    const init = findNamespaceInit(pid, procRoot);
    if (init !== undefined && members.has(init.initPid)) return init;
  }
  return oldestProcess(pids, procRoot);
}

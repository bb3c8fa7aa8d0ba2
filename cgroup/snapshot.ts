/** One read of everything the views and collectors need about a cgroup. Never throws. */
import { readCpu } from "./cpu.js";
import { readIo } from "./io.js";
import { readMemory } from "./memory.js";
import { readPids } from "./pids.js";
import { readPressure } from "./pressure.js";
import type { CgroupHandle, CgroupSnapshot } from "./types.js";

export interface SnapshotOptions {
  /** Kept for symmetry with the other readers (cgroup files carry no /proc paths). Default /proc. */
  readonly procRoot?: string;
  /** Where `devices/system/cpu/online` is read for an unrestricted cpuset. Default /sys. */
  readonly sysRoot?: string;
}

export function readSnapshot(handle: CgroupHandle, options: SnapshotOptions = {}): CgroupSnapshot {
  const memory = readMemory(handle);
  const cpu = readCpu(handle, options.sysRoot !== undefined ? { sysRoot: options.sysRoot } : {});
  const pids = readPids(handle);
  const io = readIo(handle);
  const pressure = readPressure(handle);
  return {
    handle,
    memory: memory.data,
    cpu: cpu.data,
    pids: pids.data,
    io: io.data,
    pressure: pressure.data,
    errors: [...memory.errors, ...cpu.errors, ...pids.errors, ...io.errors, ...pressure.errors],
  };
}

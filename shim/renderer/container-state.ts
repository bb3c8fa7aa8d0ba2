/**
 * What the renderer remembers about each container cgroup: its readings and texts within the share
 * window, the monotonic /proc/stat counters it served, and the process its start time is taken from.
 */
import type {
  CgroupHandle,
  CpuData,
  IoData,
  MemoryData,
  PressureData,
  TaskCounts,
} from "../../cgroup/types.js";
import type { StatCounters } from "../views/stat.js";
import { TimedMap, TimedValue } from "./timed.js";

/**
 * A container's first reads can come before its runtime has written its limits: runc stats the
 * bind-mounted view files from inside the new cgroup while setting up its mounts, and writes the
 * cgroup's limits after that. Until a container has been seen this long, nothing rendered for it is
 * kept (here or in the mount's cache), so its entrypoint's first read of /proc/meminfo (a JVM
 * sizing its heap) is rendered from the limits as they are by then, not from a reading taken before
 * they were written.
 */
export const SETTLE_MS = 2000;

/** A process whose start time stands for a container's start, re-checked by that start time. */
export interface StartProcess {
  readonly pid: number;
  readonly startTicks: number;
}

/** One container cgroup's state. */
export class ContainerState {
  readonly memory = new TimedValue<MemoryData | undefined>();
  readonly cpu = new TimedValue<CpuData | undefined>();
  readonly io = new TimedValue<IoData | undefined>();
  readonly pressure = new TimedValue<PressureData>();
  readonly tasks = new TimedValue<TaskCounts | undefined>();
  /** Rendered texts by served path (a CPU directory's file is one text per CPU). */
  readonly texts = new TimedMap<string, string>();
  /** Last /proc/stat cpu counters served: the monotonic state. */
  statCounters: StatCounters | undefined;
  /** The process whose start time is the container's start (its pidns init, or its oldest process). */
  start: StartProcess | undefined;
  lastUsed: number;

  constructor(
    readonly handle: CgroupHandle,
    /** When a read first came from it: it settles until SETTLE_MS later. */
    readonly firstSeen: number,
  ) {
    this.lastUsed = firstSeen;
  }

  settling(at: number): boolean {
    return at - this.firstSeen < SETTLE_MS;
  }

  /** How long what is read or rendered for it now may be reused: nothing while it settles. */
  windowAt(at: number, windowMs: number): number {
    return this.settling(at) ? 0 : windowMs;
  }
}

/** Containers not read for this long are forgotten (bounded memory with container churn). */
export const IDLE_FORGET_MS = 10 * 60_000;
/** How often containerFor looks for idle containers. */
const SWEEP_EVERY_MS = 60_000;

/** Every container's state, by cgroup path. */
export class ContainerStates {
  private readonly byPath = new Map<string, ContainerState>();
  private lastSweep: number;

  constructor(now: number) {
    this.lastSweep = now;
  }

  /** The state of the container `handle` names, created on its first read; marked used at `at`. */
  containerFor(handle: CgroupHandle, at: number): ContainerState {
    if (at - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = at;
      this.forgetIdle(at, IDLE_FORGET_MS);
    }
    let c = this.byPath.get(handle.path);
    if (c === undefined) {
      c = new ContainerState(handle, at);
      this.byPath.set(handle.path, c);
    }
    c.lastUsed = at;
    return c;
  }

  get(path: string): ContainerState | undefined {
    return this.byPath.get(path);
  }

  delete(path: string): void {
    this.byPath.delete(path);
  }

  /** Drops the state of containers not read for `idleMs` before `at`. */
  forgetIdle(at: number, idleMs: number): void {
    for (const [path, c] of this.byPath) if (at - c.lastUsed > idleMs) this.byPath.delete(path);
  }
}

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { USER_HZ } from "../../cgroup/cpu.js";
import { findContainerInit } from "../../cgroup/init.js";
import { readProcStartTicks } from "../../cgroup/process.js";
import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";
import { parseBtime } from "../proc-parse.js";

/**
 * A cached start is checked again this often: a restart that keeps the cgroup path (docker restart
 * between two listings) gives the container a new init, found at the next check.
 */
export const START_RECHECK_MS = 60_000;

interface KnownStart {
  readonly initPid: number;
  readonly startTicks: number;
  checkedAt: number;
}

/**
 * When each container started: the start of its init (the init of its processes' pid namespace,
 * else its oldest process: cgroup/init.ts, what the shim's /proc/uptime counts from), as Unix
 * seconds. Found once per container (a cgroup.procs walk and a few /proc reads), then only
 * re-checked every START_RECHECK_MS by one /proc/<init>/stat read. A container with no live
 * process has no series.
 */
export function containerStartCollector(
  source: ContainerSource,
  procRoot = "/proc",
  now: () => number = Date.now,
): Collector {
  const known = new Map<string, KnownStart>();
  let btime: number | undefined;
  return {
    name: "container_start",
    metrics: [
      {
        name: "boxscope_container_start_time_seconds",
        help: "Start of the container's init process (its pid namespace's init, else its oldest process), Unix seconds (/proc/<pid>/stat starttime + /proc/stat btime).",
        type: "gauge",
        labelNames: CONTAINER_LABEL_NAMES,
      },
    ],
    collect(sink) {
      btime ??= parseBtime(readFileSync(join(procRoot, "stat"), "utf8"));
      const at = now();
      const live = new Set<string>();
      for (const c of source.containers()) {
        live.add(c.path);
        let k = known.get(c.path);
        if (k !== undefined && at - k.checkedAt >= START_RECHECK_MS) {
          if (readProcStartTicks(k.initPid, procRoot) === k.startTicks) k.checkedAt = at;
          else k = undefined;
        }
        if (k === undefined) {
          const init = findContainerInit(c.handle, procRoot);
          if (init === undefined) {
            known.delete(c.path);
            continue;
          }
          k = { initPid: init.initPid, startTicks: init.startTicks, checkedAt: at };
          known.set(c.path, k);
        }
        sink.add("boxscope_container_start_time_seconds", btime + k.startTicks / USER_HZ, c.labels);
      }
      for (const path of known.keys()) if (!live.has(path)) known.delete(path);
    },
  };
}

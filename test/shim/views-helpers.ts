import { handleForPath } from "../../cgroup/handle.js";
import { createLoadavgSampler, type LoadavgSampler } from "../../cgroup/loadavg/sampler.js";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import { countTasks, readCgroupPidsRecursive } from "../../cgroup/tasks.js";

/** The number on meminfo's `Key:   N kB` line (keys like `Active(file)` taken literally); throws if absent. */
export function meminfoField(text: string, key: string): number {
  const m = new RegExp(`^${key.replace(/[()]/g, "\\$&")}:\\s+(\\d+)`, "m").exec(text);
  if (!m) throw new Error(`no ${key} in\n${text}`);
  return Number(m[1]);
}

/**
 * A loadavg sampler that samples only `cgroupPath` (no container listing, so other cgroups on the
 * machine do not slow the pass), after one pass so the view has a first sample.
 */
export async function samplerOfOneCgroup(cgroupPath: string): Promise<LoadavgSampler> {
  const mounts = readCgroupMounts();
  const sampler = createLoadavgSampler({
    listCgroups: () => [],
    countTasks: (p) => countTasks(readCgroupPidsRecursive(handleForPath(mounts, p))),
  });
  sampler.track(cgroupPath);
  await sampler.runPass();
  return sampler;
}

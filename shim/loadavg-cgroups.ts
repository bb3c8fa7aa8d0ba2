import { handleExists, handleForPath } from "../cgroup/handle.js";
import { listContainerCgroups } from "../cgroup/list.js";
import { readCgroupMounts } from "../cgroup/mounts.js";
import { countTasks, readCgroupPidsRecursive } from "../cgroup/tasks.js";
import type { CgroupMounts } from "../cgroup/types.js";
import type { Logger } from "../common/logger.js";
import { createLoadavgSampler, type LoadavgSampler } from "./loadavg-sampler.js";

export interface CgroupLoadavgSamplerOptions {
  readonly mounts?: CgroupMounts;
  readonly procRoot?: string;
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

/**
 * The sampler wired to the host's cgroups (the I/O edge of loadavg-sampler.ts): it samples every
 * container cgroup the listing finds (docker, containerd, cri-o, podman, k8s) plus any cgroup a
 * view was rendered for (the renderer calls track()), counting the R/D threads of all processes in
 * the cgroup and its sub-cgroups. A cgroup whose directories are gone reads as vanished.
 */
export function createCgroupLoadavgSampler(opts: CgroupLoadavgSamplerOptions = {}): LoadavgSampler {
  const procRoot = opts.procRoot ?? "/proc";
  const mounts = opts.mounts ?? readCgroupMounts(procRoot);
  return createLoadavgSampler({
    listCgroups: () => listContainerCgroups(mounts).map((c) => c.path),
    countTasks: (path) => {
      const handle = handleForPath(mounts, path);
      if (!handleExists(handle)) return undefined;
      return countTasks(readCgroupPidsRecursive(handle), procRoot);
    },
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
}

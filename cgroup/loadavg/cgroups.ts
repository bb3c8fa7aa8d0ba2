import type { Logger } from "../../common/logger.js";
import { handleExists, handleForPath } from "../handle.js";
import { listContainerCgroups } from "../list.js";
import { readCgroupMounts } from "../mounts.js";
import { countTasks, readCgroupPidsRecursive } from "../tasks.js";
import type { CgroupMounts } from "../types.js";
import { createLoadavgSampler, type LoadavgSampler } from "./sampler.js";

export interface CgroupLoadavgSamplerOptions {
  readonly mounts?: CgroupMounts;
  readonly procRoot?: string;
  readonly intervalMs?: number;
  /**
   * Whether each pass also walks the hierarchy for container cgroups (default true: the shim's
   * views have their loads ready at a container's first read). The standalone exporter passes false
   * and track()s the containers its own lister found, so the hierarchy is not walked twice.
   */
  readonly listContainers?: boolean;
  readonly logger?: Logger;
}

/**
 * The sampler wired to the host's cgroups (the I/O edge of sampler.ts): it samples every
 * container cgroup the listing finds (docker, containerd, cri-o, podman, k8s) plus any cgroup a
 * view was rendered for or the exporter listed (both call track()), counting the R/D threads of
 * all processes in the cgroup and its sub-cgroups. A cgroup whose directories are gone reads as
 * vanished. One per process: `boxscope up` hands the same sampler to the shim and the exporter.
 */
export function createCgroupLoadavgSampler(opts: CgroupLoadavgSamplerOptions = {}): LoadavgSampler {
  const procRoot = opts.procRoot ?? "/proc";
  const mounts = opts.mounts ?? readCgroupMounts(procRoot);
  return createLoadavgSampler({
    listCgroups: () => (opts.listContainers === false ? [] : listContainerCgroups(mounts).map((c) => c.path)),
    countTasks: (path) => {
      const handle = handleForPath(mounts, path);
      if (!handleExists(handle)) return undefined;
      return countTasks(readCgroupPidsRecursive(handle), procRoot);
    },
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
}

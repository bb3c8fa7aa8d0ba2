import type { CpuData } from "../cgroup/types.js";

/**
 * The CPUs a container sees, as host CPU numbers in the order they are renumbered (index i is the
 * container's CPU i): the effective cpuset (intersected with the host's online
 * CPUs), then — when `cfsQuota` is on, the default, unlike LXCFS without `--enable-cfs` — only the
 * first ceil(quota) of them, because a container limited to 1.5 CPUs can never use more than 2
 * CPUs' worth of time at once and tools sizing thread pools by the processor count should see 2.
 */
export function visibleCpus(
  cpu: Pick<CpuData, "cpuset" | "quotaCpus"> | undefined,
  hostOnline: readonly number[],
  opts: { cfsQuota: boolean },
): number[] {
  const online = new Set(hostOnline);
  const cpuset = cpu?.cpuset ?? [];
  // An empty/unreadable cpuset (or one naming only offline CPUs) means "all host CPUs".
  let cpus = cpuset.filter((c) => online.has(c));
  if (cpus.length === 0) cpus = [...hostOnline];
  cpus.sort((a, b) => a - b);
  const quota = cpu?.quotaCpus;
  if (opts.cfsQuota && quota !== null && quota !== undefined && quota > 0) {
    const n = Math.max(1, Math.ceil(quota - 1e-9));
    cpus = cpus.slice(0, n);
  }
  return cpus;
}

import type { HostCpuinfo } from "../../cgroup/types.js";

/**
 * /proc/cpuinfo keeping only the visible CPUs, renumbered from 0 (`processor\t: i`). Every other
 * line is the host's, verbatim. The kernel ends each processor block with a blank line.
 */
export function renderCpuinfo(host: HostCpuinfo, visible: readonly number[]): string {
  let out = "";
  let index = 0;
  for (const hostCpu of visible) {
    const lines = host.processors.get(hostCpu);
    if (lines === undefined) continue;
    for (const line of lines) {
      out += PROCESSOR_LINE.test(line) ? line.replace(PROCESSOR_LINE, `$1${index}`) : line;
      out += "\n";
    }
    out += "\n";
    index++;
  }
  return out;
}

const PROCESSOR_LINE = /^(processor\s*:\s*)\d+$/;

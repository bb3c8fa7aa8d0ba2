import { USER_HZ } from "./stat.js";

export interface UptimeInput {
  /** The host's /proc/uptime: seconds since boot (CLOCK_BOOTTIME) and idle seconds over all CPUs. */
  readonly hostUptimeSec: number;
  readonly hostIdleSec: number;
  /** Start of the container's init in clock ticks since boot (/proc/<pid>/stat field 22); undefined → host's uptime. */
  readonly startTicks: number | undefined;
  /** Clock ticks per second of field 22 (sysconf(_SC_CLK_TCK), 100 on Linux). */
  readonly clkTck?: number;
  readonly visibleCpus: number;
  /** The container's CPU time, ns; undefined → idle is the host's. */
  readonly cpuUsageNs: number | undefined;
}

/**
 * /proc/uptime for a container: now − its init's start, never negative (LXCFS issue 732), and the
 * kernel's idle meaning: idle seconds summed over the visible CPUs = visible × uptime − CPU seconds,
 * clamped at 0. Printed like the kernel, `%lu.%02lu %lu.%02lu` with truncated centiseconds.
 */
export function renderUptime(input: UptimeInput): string {
  const clk = input.clkTck ?? USER_HZ;
  // Start unknown (no process readable in the cgroup): the host's uptime, and idle still in the
  // container's terms over that time, as /proc/stat computes it.
  const uptime =
    input.startTicks === undefined
      ? input.hostUptimeSec
      : Math.max(0, input.hostUptimeSec - input.startTicks / clk);
  const idle =
    input.cpuUsageNs === undefined
      ? input.hostIdleSec
      : Math.max(0, Math.max(1, input.visibleCpus) * uptime - input.cpuUsageNs / 1e9);
  return `${formatCentis(uptime)} ${formatCentis(idle)}\n`;
}

/** `%lu.%02lu` from seconds, centiseconds truncated; computed in integer centiseconds to avoid 0.999… */
export function formatCentis(seconds: number): string {
  const centis = Math.max(0, Math.floor(seconds * 100 + 1e-6));
  return `${Math.floor(centis / 100)}.${String(centis % 100).padStart(2, "0")}`;
}

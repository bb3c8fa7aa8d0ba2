import { formatLoad } from "../../cgroup/loadavg/math.js";

export interface LoadavgInput {
  /** The container's 1/5/15-minute loads in the kernel's fixed point (FIXED_1 = 1.0); undefined → host's. */
  readonly loads: readonly [number, number, number] | undefined;
  /** Runnable threads / all threads of the container; undefined → host's. */
  readonly running: number | undefined;
  readonly total: number | undefined;
  /** The host's /proc/loadavg text: fallback fields and the last PID (a host-wide value). */
  readonly hostText: string;
}

/**
 * /proc/loadavg: `%lu.%02lu %lu.%02lu %lu.%02lu %u/%d %d`, each load printed as the kernel does:
 * add FIXED_1/200 (round to the nearest hundredth), then integer part and two-digit fraction.
 */
export function renderLoadavg(input: LoadavgInput): string {
  const host = input.hostText.trim().split(/\s+/);
  const [hostRunning, hostTotal] = (host[3] ?? "0/0").split("/");
  const loads =
    input.loads === undefined
      ? [host[0] ?? "0.00", host[1] ?? "0.00", host[2] ?? "0.00"]
      : input.loads.map(formatLoad);
  const running = input.running ?? hostRunning ?? "0";
  const total = input.total ?? hostTotal ?? "0";
  return `${loads.join(" ")} ${running}/${total} ${host[4] ?? "0"}\n`;
}

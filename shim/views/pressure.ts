import type { PressureData } from "../../cgroup/types.js";

export type PressureResource = "cpu" | "io" | "memory";

/**
 * /proc/pressure/<resource>: the container cgroup's `<resource>.pressure` file (already in the
 * kernel's format), else the host's file.
 */
export function renderPressure(resource: PressureResource, pressure: PressureData, hostText: string): string {
  const own = pressure[resource];
  return own !== undefined && own.length > 0 ? own : hostText;
}

/**
 * PSI of a cgroup: cpu/memory/io.pressure from the unified hierarchy (present on pure v2 and on
 * hybrid hosts' /sys/fs/cgroup/unified). Raw text, already in the kernel's /proc/pressure format.
 */
import { join } from "node:path";
import { readOptional } from "./fsread.js";
import type { CgroupHandle, PressureData } from "./types.js";

export function readPressure(handle: CgroupHandle): { data: PressureData; errors: string[] } {
  const errors: string[] = [];
  const dir = handle.unifiedDir;
  if (dir === undefined) return { data: {}, errors };
  const data: { -readonly [K in keyof PressureData]: PressureData[K] } = {};
  for (const r of ["cpu", "memory", "io"] as const) {
    const text = readOptional(join(dir, `${r}.pressure`), errors);
    if (text !== undefined) data[r] = text;
  }
  return { data, errors };
}
